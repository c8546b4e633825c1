import { z, type HypergradientResult, type Oracle, type OuterOptimizer, type Stop, type StepContext, type StepResult } from '@bilevel/core';
import { batchFields, epochLimit, initialSampler, nextBatch, onBatch, type MinibatchSamplerState } from './batches.js';
import { toleranceScale } from './tolerances.js';
import { batchShape, DECAY_KINDS, decay, deltaFloor, FLOOR_POLICIES, nonNegative, norm, positive, type DecayKind } from './common.js';

export type StochasticUpdate = 'sgd' | 'adam';

/** The step and accuracy schedules (their α₀ and step schedule defaults differ between ISGD and Adam). */
function scheduleShape(step0: number, stepSchedule: DecayKind) {
  return {
    /** α_k = step0 · s(k) with s from stepSchedule: constant 1, poly (k+1)^(−stepPower), log 1/log₂(k+2). */
    step0: positive().default(step0).describe('α₀'),
    stepSchedule: z.enum(DECAY_KINDS).default(stepSchedule).describe('α_k = α₀·s(k): constant | poly (k+1)^−stepPower | log 1/log₂(k+2)'),
    stepPower: nonNegative().default(0.5).describe('q of the poly step schedule'),
    /** ε_k = epsilon0 · s(k) (accuracySchedule, accuracyPower); δ_k = ε_k δ₀/ε₀. */
    epsilon0: positive().default(3e-4).describe('ε₀, RMS per unknown'),
    delta0: positive().default(3e-4).describe('δ₀, RMS per unknown in image units (δ_k = ε_k δ₀/ε₀)'),
    accuracySchedule: z.enum(DECAY_KINDS).default('poly').describe('ε_k = ε₀·s(k): constant | poly (k+1)^−accuracyPower | log'),
    accuracyPower: nonNegative().default(1).describe('p of the poly accuracy schedule'),
  };
}

/** Adam's moment constants (only adam-hypergradient accepts them). */
const adamShape = {
  beta1: z.number().min(0).max(0.999999).default(0.9).describe('Adam β₁'),
  beta2: z.number().min(0).max(0.999999).default(0.999).describe('Adam β₂'),
  adamEpsilon: positive().default(1e-8).describe('Adam ε'),
};

/** The stopping rules and the minibatch order (the last batch of an epoch may be smaller; batchSize ≥ n is full-batch descent). */
const tailShape = {
  maxEpochs: batchShape.maxEpochs,
  /** Converged once the epoch-mean hypergradient ‖z̄‖ ≤ max(gradTol, relGradTol·‖z̄ of epoch 1‖). */
  gradTol: nonNegative().default(0).describe('stop when the epoch-mean ‖z̄‖ ≤ gradTol'),
  relGradTol: nonNegative().default(1e-3).describe('stop when the epoch-mean ‖z̄‖ ≤ relGradTol·(first epoch)'),
  /** When ε_k falls below the float32 floor: 'stop' (default) stops with accuracy-floor, 'clamp' keeps iterating at the floor. */
  atFloor: z.enum(FLOOR_POLICIES).default('stop').describe('when ε_k falls below the float32 floor: stop | clamp'),
  shuffle: batchShape.shuffle, seed: batchShape.seed, costScaling: batchShape.costScaling,
};

/** ISGD's options, declared once (Adam's moment constants are not among them). */
export const ISGD_SCHEMA = z.strictObject({ batchSize: batchShape.batchSize, ...scheduleShape(1e-2, 'poly'), ...tailShape });
/** Adam's options: ISGD's with a larger learning rate, a constant step schedule, and the moment constants. */
export const ADAM_SCHEMA = z.strictObject({ batchSize: batchShape.batchSize, ...scheduleShape(0.1, 'constant'), ...adamShape, ...tailShape });

/** The ISGD family's options: Adam's (ISGD ignores β₁, β₂, ϵ), the update rule, and the seed of the minibatch order. */
export interface IsgdOptions extends Omit<z.output<typeof ADAM_SCHEMA>, 'seed'> {
  /** Update rule: plain inexact SGD, or Adam on the minibatch hypergradients (α_k is Adam's learning rate). */
  update: StochasticUpdate;
  seed: number;
}

/** Seed 0 is a placeholder: the plugins use the experiment seed unless `seed` is given. */
export const ISGD_DEFAULTS: IsgdOptions = { ...ADAM_SCHEMA.parse({}), ...ISGD_SCHEMA.parse({}), update: 'sgd', seed: 0 };
export const ADAM_DEFAULTS: IsgdOptions = { ...ADAM_SCHEMA.parse({}), update: 'adam', seed: 0 };

/** Adam's moments m, v, the epoch's running mean hypergradient, and the first epoch's ‖z̄‖ (plain numbers). */
export interface IsgdState {
  theta: number[];
  /** Iterations so far: k of α_k, ε_k. */
  iter: number;
  sampler: MinibatchSamplerState;
  m: number[];
  v: number[];
  epochGrad: number[];
  firstEpochGradNorm: number;
}

/**
 * The ISGD family ("Bilevel learning with inexact stochastic gradients"): per minibatch B_k an inexact
 * hypergradient z_{B_k} at accuracies (ε_k, δ_k) from an oracle over B_k, whose per-image warm starts persist in
 * the full oracle across batches and epochs; then θ ← θ − α_k z_{B_k} (or an Adam step).
 */
export class Isgd implements OuterOptimizer<IsgdState> {
  readonly name: string;

  constructor(readonly options: IsgdOptions = ISGD_DEFAULTS) {
    this.name = options.update === 'adam' ? 'adam-hypergradient' : 'isgd';
  }

  stepAt(k: number): number {
    return this.options.step0 * decay(this.options.stepSchedule, k, this.options.stepPower);
  }

  accuracyAt(k: number): number {
    return this.options.epsilon0 * decay(this.options.accuracySchedule, k, this.options.accuracyPower);
  }

  init(theta0: Float64Array, oracle: Oracle): IsgdState {
    const d = theta0.length;
    return {
      theta: Array.from(theta0), iter: 0, sampler: initialSampler(oracle, this.options), m: new Array(d).fill(0), v: new Array(d).fill(0),
      epochGrad: new Array(d).fill(0), firstEpochGradNorm: 0,
    };
  }

  theta(state: IsgdState): Float64Array {
    return Float64Array.from(state.theta);
  }

  /**
   * z_B at θ on the batch oracle at (ε_k, δ_k) (per element, × the batch oracle's toleranceScale), δ_k raised to the CG
   * floor; x̃ becomes the batch's warm start. Returns the accuracies per element.
   */
  private async batchGradient(bo: Oracle, theta: Float64Array, k: number): Promise<{ stop: Stop } | { hg: HypergradientResult; epsilon: number; delta: number }> {
    const o = this.options;
    const sc = toleranceScale(bo);
    const scheduled = this.accuracyAt(k);
    let epsilon = scheduled * sc.x;
    let delta = scheduled * (o.delta0 / o.epsilon0) * sc.residual;
    const floor = await bo.accuracyFloor(theta);
    if (epsilon < floor) {
      if (o.atFloor === 'stop') return { stop: { reason: 'accuracy-floor', message: `the schedule asks ε = ${epsilon.toExponential(2)} below the float32 floor ${floor.toExponential(2)}` } };
      epsilon = floor;
    }
    const ev = await bo.evaluate(theta, epsilon);
    if (ev.lower.stop === 'float32-floor') {
      bo.release(ev);
      return { stop: { reason: 'accuracy-floor', message: `the lower-level solver stalled at ‖∇h‖/μ = ${ev.lower.certifiedError.toExponential(2)} > ε (float32)` } };
    }
    delta = Math.max(delta, deltaFloor(bo, theta, ev.upperGradNorm));
    const hg = await bo.hypergradient(theta, ev.lower.certifiedError, delta, ev, { errorBound: false });
    await bo.accept(ev);
    bo.release(ev);
    return { hg, epsilon: epsilon / sc.x, delta: delta / sc.residual };
  }

  /** θ ← θ − α_k z (sgd) or θ ← θ − α_k m̂/(√v̂ + ϵ) (adam, moments in `s`); returns ‖θ⁺ − θ‖. */
  private update(s: IsgdState, z: Float64Array, alpha: number): number {
    const o = this.options;
    const d = z.length;
    if (o.update !== 'adam') {
      s.theta = s.theta.map((t0, j) => t0 - alpha * z[j]);
      return alpha * norm(z);
    }
    const t = s.iter + 1;
    const dir = new Array<number>(d);
    for (let j = 0; j < d; j++) {
      s.m[j] = o.beta1 * s.m[j] + (1 - o.beta1) * z[j];
      s.v[j] = o.beta2 * s.v[j] + (1 - o.beta2) * z[j] * z[j];
      const mh = s.m[j] / (1 - o.beta1 ** t), vh = s.v[j] / (1 - o.beta2 ** t);
      dir[j] = mh / (Math.sqrt(vh) + o.adamEpsilon);
    }
    s.theta = s.theta.map((t0, j) => t0 - alpha * dir[j]);
    return alpha * norm(dir);
  }

  async step(oracle: Oracle, state: IsgdState, _ctx: StepContext): Promise<StepResult<IsgdState>> {
    const o = this.options;
    const s = structuredClone(state);
    const limit = epochLimit(s.sampler, o.maxEpochs);
    if (limit) return { state: s, stop: limit };
    const { batch, sampler } = nextBatch(s.sampler);
    const theta = Float64Array.from(s.theta);
    // A batch that stops at the float32 floor is discarded (its work still counts).
    const r = await onBatch(oracle, batch, o.costScaling, async (bo) => {
      const g = await this.batchGradient(bo, theta, s.iter);
      return { value: g, keep: !('stop' in g) };
    });
    if ('stop' in r) return { state: s, stop: r.stop };
    s.sampler = sampler;
    const z = r.hg.grad;
    const alpha = this.stepAt(s.iter);
    const stepNorm = this.update(s, z, alpha);
    for (let j = 0; j < z.length; j++) s.epochGrad[j] += (z[j] * batch.indices.length) / oracle.size;
    const record = {
      upperLoss: r.hg.value, epsilon: r.epsilon, delta: r.delta, omega: r.hg.errorBound, gradNorm: norm(z), step: alpha, backtracks: 0,
      ...batchFields(oracle, batch), stepNorm,
    };
    s.iter++;
    return { state: s, record, stop: batch.epochEnd ? this.epochEnd(s) : undefined };
  }

  /** At an epoch's end: converged once ‖z̄‖ ≤ max(gradTol, relGradTol·‖z̄ of epoch 1‖). */
  private epochEnd(s: IsgdState): Stop | undefined {
    const o = this.options;
    const g = norm(s.epochGrad);
    s.epochGrad.fill(0);
    if (s.firstEpochGradNorm === 0) s.firstEpochGradNorm = g;
    else if (g <= Math.max(o.gradTol, o.relGradTol * s.firstEpochGradNorm)) {
      return { reason: 'converged', message: `epoch-mean hypergradient ‖z̄‖ = ${g.toExponential(2)} is below the gradient tolerance` };
    }
    return undefined;
  }
}
