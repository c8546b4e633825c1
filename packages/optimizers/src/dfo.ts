import { addOptionIssue, z, type LowerEvaluation, type Oracle, type OuterOptimizer, type Stop, type StepContext, type StepRecord, type StepResult } from '@bilevel/core';
import { distance, FLOOR_POLICIES, fraction, norm, positive, whenFieldsValid } from './common.js';
import { toleranceScale } from './tolerances.js';
import { loadLinearAlgebra, predictedDecrease, quadraticModel, trustRegionStep, type QuadraticModel, type Sample } from './dfo-model.js';

export { loadLinearAlgebra, symmetricEigen, trustRegionStep } from './dfo-model.js';

/** The derivative-free trust region's options, declared once (with radiusMin < radius0 ≤ radiusMax and eta1 ≤ eta2). */
export const DFO_SCHEMA = z.strictObject({
  /** Initial trust-region radius Δ₀ (in θ units) and its bounds; converged once Δ < radiusMin. */
  radius0: positive().default(1).describe('initial trust-region radius Δ₀'),
  radiusMin: positive().default(1e-3).describe('stop (converged) when Δ < radiusMin'),
  radiusMax: positive().default(10).describe('largest Δ'),
  /** Step acceptance ρ ≥ eta1; radius growth when ρ ≥ eta2 and the step reached the boundary. */
  eta1: fraction().default(0.1).describe('accept when ρ ≥ eta1'),
  eta2: fraction().default(0.7).describe('grow Δ when ρ ≥ eta2'),
  /** Δ ← shrink·Δ after a failed step of a well-poised model; Δ ← grow·Δ after a very successful one. */
  shrink: fraction().default(0.5).describe('Δ factor after a failed step'),
  grow: z.number().min(1).default(2).describe('Δ factor after a very successful step'),
  /** Lower-level accuracy at Δ₀; dynamically ε_k = min(epsilon0, epsilon0·(Δ_k/Δ₀)²)·(tightening). */
  epsilon0: positive().default(3e-4).describe('lower-level accuracy at Δ₀, RMS per unknown (ε ∝ Δ²)'),
  /** Dynamic accuracy test: the certified errors of f̃(θ_k) and f̃(θ_k + s) must be ≤ noiseRatio·(m(0) − m(s)). */
  noiseRatio: positive().default(0.25).describe('certified f errors ≤ noiseRatio × predicted decrease, else tighten ε'),
  /** Below the float32 floor: 'clamp' keeps the floor accuracy (stops when the test still fails), 'stop' stops at once. */
  atFloor: z.enum(FLOOR_POLICIES).default('clamp').describe('below the float32 floor: clamp | stop'),
}).superRefine((o, ctx) => {
  if (o.eta2 < o.eta1) addOptionIssue(ctx, 'eta2', `must be ≥ eta1 (${o.eta1})`, 'raise eta2 or lower eta1');
  if (o.radiusMin >= o.radius0 || o.radius0 > o.radiusMax) addOptionIssue(ctx, 'radius0', 'needs radiusMin < radius0 ≤ radiusMax', 'adjust the radii');
}, whenFieldsValid);

export type DfoOptions = z.output<typeof DFO_SCHEMA>;
export const DFO_DEFAULTS: DfoOptions = DFO_SCHEMA.parse({});

/** A sample as plain numbers. */
export interface DfoSample {
  theta: number[];
  value: number;
  error: number;
  epsilon: number;
}

/** Serializable DFO state: the trust region, the accuracy tightening and the sample set with its center. */
export interface DfoState {
  theta0: number[];
  radius: number;
  /** Product of the 1/2 tightenings of the dynamic accuracy. */
  tightening: number;
  /** The sampled points (empty before the first step, which samples θ₀ and θ₀ ± Δ₀eᵢ). */
  samples: DfoSample[];
  /** The trust-region center, and its index in `samples` (−1 once it was dropped from them). */
  center?: DfoSample;
  centerIndex: number;
}

const toPlain = (p: Sample): DfoSample => ({ theta: Array.from(p.theta), value: p.value, error: p.error, epsilon: p.epsilon });
const fromPlain = (p: DfoSample): Sample => ({ theta: Float64Array.from(p.theta), value: p.value, error: p.error, epsilon: p.epsilon });
const floorStop = (message: string): { stop: Stop } => ({ stop: { reason: 'accuracy-floor', message } });

/** One DFO step's working set: the samples (the center among them by identity), Δ and the tightening. */
class DfoRun {
  readonly samples: Sample[];
  center: Sample;
  radius: number;
  tightening: number;
  private readonly maxSamples: number;

  constructor(private readonly oracle: Oracle, private readonly o: DfoOptions, s: DfoState) {
    this.samples = s.samples.map(fromPlain);
    // Before the first step there is no center yet: a placeholder at θ₀ until `start` evaluates it.
    this.center = s.centerIndex >= 0 ? this.samples[s.centerIndex]
      : s.center ? fromPlain(s.center) : { theta: Float64Array.from(s.theta0), value: Number.NaN, error: 0, epsilon: 0 };
    this.radius = s.radius;
    this.tightening = s.tightening;
    const d = s.theta0.length;
    this.maxSamples = Math.max(2 * d + 1, ((d + 1) * (d + 2)) / 2) * 2;
  }

  save(theta0: number[]): DfoState {
    return { theta0, radius: this.radius, tightening: this.tightening, samples: this.samples.map(toPlain), center: toPlain(this.center), centerIndex: this.samples.indexOf(this.center) };
  }

  /** ε = min(ε₀, ε₀(Δ/Δ₀)²)·tightening (ε₀ per element; returned Euclidean, × toleranceScale), raised to the float32 floor at `at`. */
  async accuracy(at: Float64Array): Promise<{ epsilon: number; atFloor: boolean }> {
    const o = this.o;
    const e = Math.min(o.epsilon0, o.epsilon0 * (this.radius / o.radius0) ** 2) * this.tightening * toleranceScale(this.oracle).x;
    const floor = await this.oracle.accuracyFloor(at);
    return e < floor ? { epsilon: floor, atFloor: true } : { epsilon: e, atFloor: false };
  }

  /** f̃(θ) = g(x̃) at accuracy ε with its certified error ‖∇g(x̃)‖e + ½L_g e² (e the certified ‖x̃ − x̂‖). */
  async evaluate(at: Float64Array, epsilon: number): Promise<{ sample: Sample; ev: LowerEvaluation }> {
    const ev = await this.oracle.evaluate(at, epsilon);
    const e = ev.lower.certifiedError;
    const Lg = this.oracle.upperLipschitz;
    return { sample: { theta: Float64Array.from(at), value: ev.value, error: ev.upperGradNorm * e + 0.5 * Lg * e * e, epsilon }, ev };
  }

  /** Adds a sample; past maxSamples the one farthest from the center goes. */
  add(s: Sample): void {
    const samples = this.samples;
    samples.push(s);
    if (samples.length > this.maxSamples) {
      let far = -1, farDist = -1;
      samples.forEach((p, i) => {
        const dist = distance(p.theta, this.center.theta);
        if (p !== this.center && dist > farDist) [far, farDist] = [i, dist];
      });
      samples.splice(far, 1);
    }
  }

  /** Evaluates and adds a point at accuracy ε (its x̃ is not kept). */
  async sampleAt(at: Float64Array, epsilon: number): Promise<void> {
    const { sample: p, ev } = await this.evaluate(at, epsilon);
    this.oracle.release(ev);
    this.add(p);
  }

  /** Re-evaluates the center at ε (its x̃ becomes the warm start), in place of the stale center sample. */
  async refresh(epsilon: number): Promise<void> {
    const c = await this.evaluate(this.center.theta, epsilon);
    await this.oracle.accept(c.ev);
    this.oracle.release(c.ev);
    const i = this.samples.indexOf(this.center);
    this.center = c.sample;
    if (i >= 0) this.samples[i] = this.center;
  }

  /** The first samples: θ₀ (the center, its x̃ the warm start) and θ₀ ± Δ₀eᵢ while no stop is due. */
  async start(theta0: Float64Array, ctx: StepContext): Promise<void> {
    const { epsilon } = await this.accuracy(theta0);
    const first = await this.evaluate(theta0, epsilon);
    this.center = first.sample;
    await this.oracle.accept(first.ev);
    this.oracle.release(first.ev);
    this.samples.push(this.center);
    for (let i = 0; i < theta0.length && !ctx.check(); i++) {
      for (const sign of [1, -1]) {
        const at = Float64Array.from(theta0);
        at[i] += sign * this.radius;
        await this.sampleAt(at, epsilon);
      }
    }
  }

  /** No predicted decrease or a failed step: shrink Δ if the model is well poised, else add a geometry-improving point. */
  async improve(m: QuadraticModel, epsilon: number): Promise<number> {
    if (m.poised) {
      this.radius *= this.o.shrink;
      return 0;
    }
    await this.sampleAt(this.center.theta.map((t, i) => t + this.radius * m.weakest[i]), epsilon);
    return 1;
  }
}

/** A trial whose value is accurate enough against the predicted decrease (or a stop), with the accuracy reached. */
interface CertifiedTrial {
  trial?: { sample: Sample; ev: LowerEvaluation };
  acc: { epsilon: number; atFloor: boolean };
  backtracks: number;
  stop?: Stop;
}

/**
 * A derivative-free baseline for few-parameter problems, in the spirit of DFO-LS (Cartis, Fiala, Marteau, Roberts)
 * and of its use for bilevel learning (Ehrhardt & Roberts): a trust-region method on f(θ) with quadratic models
 * fitted (regularised least squares) to sampled values, geometry-improving points when the sample set is badly
 * poised, and dynamic accuracy — the lower-level accuracy follows the trust region (ε_k ∝ Δ_k²) and is tightened
 * whenever the certified errors of the two compared values are not small against the predicted decrease.
 */
export class Dfo implements OuterOptimizer<DfoState> {
  readonly name = 'dfo';
  constructor(readonly options: DfoOptions = DFO_DEFAULTS) {}

  init(theta0: Float64Array): DfoState {
    return { theta0: Array.from(theta0), radius: this.options.radius0, tightening: 1, samples: [], centerIndex: -1 };
  }

  theta(state: DfoState): Float64Array {
    return Float64Array.from(state.center?.theta ?? state.theta0);
  }

  async step(oracle: Oracle, state: DfoState, ctx: StepContext): Promise<StepResult<DfoState>> {
    const o = this.options;
    const started = state.center !== undefined;
    const run = new DfoRun(oracle, o, state);
    const done = (r: { record?: StepRecord; stop?: Stop }): StepResult<DfoState> => ({ state: run.save(state.theta0), ...r });
    if (!started) {
      await run.start(Float64Array.from(state.theta0), ctx);
      const stop = ctx.check();
      if (stop) return done({ stop });
    }
    if (run.radius < o.radiusMin) return done({ stop: { reason: 'converged', message: `trust-region radius ${run.radius.toExponential(2)} < radiusMin ${o.radiusMin}` } });
    if (o.atFloor === 'stop' && (await run.accuracy(run.center.theta)).atFloor) {
      return done(floorStop(`the dynamic accuracy asks ε below the float32 floor ${(await oracle.accuracyFloor(run.center.theta)).toExponential(2)}`));
    }
    return done(await this.iterate(oracle, run, ctx));
  }

  /** One trust-region iteration: model, step, (certified) trial value, ratio test, radius update. */
  private async iterate(oracle: Oracle, run: DfoRun, ctx: StepContext): Promise<{ record?: StepRecord; stop?: Stop }> {
    const o = this.options;
    await loadLinearAlgebra();
    const m = quadraticModel(run.samples, run.center, run.radius);
    const s = trustRegionStep(m.g, m.H, run.radius);
    const sNorm = norm(s);
    const pred = predictedDecrease(m, s);
    let backtracks = 0;
    let accepted = false;
    let rho = NaN;
    let acc = await run.accuracy(run.center.theta);
    const trialTheta = run.center.theta.map((t, i) => t + s[i]);
    if (!(pred > 0) || sNorm < 1e-12) {
      // The model predicts no decrease: improve the geometry or shrink.
      backtracks += await run.improve(m, acc.epsilon);
    } else {
      const c = await this.certifiedTrial(oracle, run, trialTheta, pred, acc, ctx);
      if (c.stop) return { stop: c.stop };
      const trial = c.trial!;
      acc = c.acc;
      backtracks += c.backtracks;
      rho = (run.center.value - trial.sample.value) / pred;
      run.add(trial.sample);
      if (rho >= o.eta1) {
        accepted = true;
        await oracle.accept(trial.ev);
        run.center = trial.sample;
        if (rho >= o.eta2 && sNorm >= 0.9 * run.radius) run.radius = Math.min(o.grow * run.radius, o.radiusMax);
      } else {
        backtracks += await run.improve(m, acc.epsilon);
      }
      oracle.release(trial.ev);
    }
    return {
      record: {
        upperLoss: run.center.value, epsilon: acc.epsilon / toleranceScale(oracle).x, delta: 0, omega: 0, gradNorm: norm(m.g), step: accepted ? sNorm : 0, backtracks,
        radius: run.radius, rho, fErrorBound: run.center.error,
      },
    };
  }

  /**
   * f̃ at the trial point, with the accuracy tightened (ε ← ε/2, the center re-evaluated) until the certified errors of
   * the two compared values are ≤ noiseRatio × the predicted decrease; at the float32 floor accepted up to the decrease itself.
   */
  private async certifiedTrial(oracle: Oracle, run: DfoRun, trialTheta: Float64Array, pred: number, acc0: { epsilon: number; atFloor: boolean }, ctx: StepContext): Promise<CertifiedTrial> {
    const o = this.options;
    let acc = acc0;
    let backtracks = 0;
    let trial = await run.evaluate(trialTheta, acc.epsilon);
    for (;;) {
      if (run.center.error + trial.sample.error <= o.noiseRatio * pred) break;
      if (run.center.epsilon > acc.epsilon * 1.001) {
        // The center's value is staler than this iteration's accuracy: refresh it before tightening.
        await run.refresh(acc.epsilon);
        backtracks++;
        continue;
      }
      if (acc.atFloor) {
        if (o.atFloor === 'stop' || run.center.error + trial.sample.error > pred) {
          oracle.release(trial.ev);
          return { acc, backtracks, ...floorStop(`certified errors of f (${(run.center.error + trial.sample.error).toExponential(2)}) exceed the model decrease ${pred.toExponential(2)} at the float32 accuracy floor`) };
        }
        break;
      }
      run.tightening *= 0.5;
      acc = await run.accuracy(run.center.theta);
      if (acc.atFloor && o.atFloor === 'stop') {
        oracle.release(trial.ev);
        return { acc, backtracks, ...floorStop(`the dynamic accuracy asks ε below the float32 floor ${acc.epsilon.toExponential(2)}`) };
      }
      backtracks++;
      oracle.release(trial.ev);
      await run.refresh(acc.epsilon);
      trial = await run.evaluate(trialTheta, acc.epsilon);
      const stop = ctx.check();
      if (stop) {
        oracle.release(trial.ev);
        return { acc, backtracks, stop };
      }
    }
    return { trial, acc, backtracks };
  }
}
