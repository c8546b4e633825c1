import {
  type HypergradientOracle, type HypergradientResult, type IterationRecord, type LowerEvaluation,
  type LowerStop, type OptimizerContext, type OptimizerResult, type OuterOptimizer, type StopReason, tf,
} from '@bilevel/core';
import { deltaFloor, distance, dot, norm, type FloorPolicy } from './common.js';
import { lbfgsDirection, memoryAfterStep, type LbfgsMemory } from './lbfgs.js';
import { StopRules } from './stopping.js';

/** MAID's constants (DESIGN §2), with the reference defaults. */
export interface MaidOptions {
  /** Initial lower-level accuracy ε₀ and CG residual δ₀. */
  epsilon0: number;
  delta0: number;
  /** Initial step α₀. */
  step0: number;
  /** Descent test: recompute while ω > (1 − η)‖z‖. */
  eta: number;
  /** Sufficient decrease: U(θ⁺) − L(θ) + λα‖z‖² ≤ 0. */
  lambda: number;
  /** Shrink of ε, δ on a failed descent test or backtracking (ν). */
  shrink: number;
  /** Backtracking shrink of α (ρ). */
  backtrack: number;
  /** Growth of ε, δ after a success (ν̄). */
  grow: number;
  /** Growth of the next initial α after a success. */
  stepGrow: number;
  /** Backtracking steps tried before shrinking ε, δ. */
  maxBacktracks: number;
  /** Stop as converged once ‖z‖ + ω ≤ gradTol (absolute) … */
  gradTol: number;
  /** … or ‖z‖ + ω ≤ relGradTol · ‖z₀‖. */
  relGradTol: number;
  /**
   * When ε or δ must go below the float32 floor: 'clamp' keeps iterating at the floor with uncertified steps
   * (−z without the descent test, backtracking on the computed loss g(x̃⁺) − g(x̃) + λα‖z‖² ≤ 0; rows say
   * certified: 0), 'stop' stops with accuracy-floor.
   */
  atFloor: FloorPolicy;
  /**
   * Step metric: 'identity' steps along −z (the paper's MAID); 'rms' along −d, d_i = z_i/(√v̂_i + ϵ) rescaled to
   * ‖d‖ = ‖z‖, v̂ the bias-corrected running mean of z_i² (decay `metricDecay`) — a diagonal variable metric that
   * evens out parameter blocks of different scales (FoE weights vs filter taps). The certified tests use ⟨z, d⟩:
   * descent iff ω ≤ (1 − η)⟨z, d⟩/‖d‖, sufficient decrease with λα⟨z, d⟩. 'lbfgs': d = H z with H the L-BFGS
   * inverse-Hessian model of the last `metricMemory` accepted pairs (Δθ, Δz) with ⟨Δθ, Δz⟩ > 0, and the first
   * trial step α = 1 whenever a pair exists (at most `stepCap` × the last accepted step, see quasiNewtonStep); the pairs are dropped after a step that needed ≥ 3 halvings. A quasi-Newton
   * direction that fails the descent test where −z passes gives way to −z for that iteration (see certifiedDirection).
   */
  metric: StepMetric;
  metricDecay: number;
  metricMemory: number;
  /** Metric 'lbfgs': the first trial step is no longer than stepCap × the last accepted step (0: no cap). */
  stepCap: number;
  /**
   * How ε, δ shrink after a failed test: 'fixed' multiplies them by `shrink`; 'predicted' jumps to the accuracy the
   * failed test says is needed (never shrinking by less than `shrink`, nor by more than 1000×): after the descent
   * test, 0.9·(1 − η)⟨z, d⟩/(‖d‖ω) (ω is about linear in ε, δ); after an accuracy-limited step, 0.9·ε* with ε* the
   * root of (‖∇g(x̃)‖ + ‖∇g(x̃⁺)‖)ε + L_g ε² = g(x̃) − g(x̃⁺) − λα⟨z, d⟩, at which the ε-bounds certify the computed decrease.
   */
  shrinkRule: ShrinkRule;
  /**
   * The bounds U, L on f in the sufficient-decrease test: 'gradient' (the paper's) g(x̃) ± (‖∇g(x̃)‖ε + ½L_g ε²);
   * 'adjoint' the adjoint-corrected value g(x̃) − ⟨q̃, ∇ₓh(x̃)⟩ ± (ρe + (L_H‖∇g‖/μ + ½L_g)e² + 8u|g|) (e = ‖∇ₓh(x̃)‖/μ,
   * ρ the CG residual; see adjointValueBound) — second order in e, so small decreases are certified at a far coarser ε.
   * Costs a CG solve, a lower-level gradient and two Hessian-vector products at each trial point; the trial's
   * hypergradient is reused as the next iteration's when the step is accepted.
   * Rows then report the corrected value as upperLoss. Falls back to 'gradient' with oracles that provide no value
   * estimate (the piggyback oracle).
   */
  valueBound: ValueBound;
}

export type StepMetric = 'identity' | 'rms' | 'lbfgs';
export type ShrinkRule = 'fixed' | 'predicted';
export type ValueBound = 'gradient' | 'adjoint';

export const MAID_DEFAULTS: MaidOptions = {
  epsilon0: 1e-1, delta0: 1e-1, step0: 1e-2, eta: 1e-4, lambda: 1e-4, shrink: 0.5, backtrack: 0.5, grow: 1.05,
  stepGrow: 10 / 9, maxBacktracks: 10, gradTol: 0, relGradTol: 1e-4, atFloor: 'clamp',
  metric: 'identity', metricDecay: 0.9, metricMemory: 8, stepCap: 10, shrinkRule: 'fixed', valueBound: 'gradient',
};

/** What MAID keeps of the accepted lower-level solution (its x̃ is the oracle's warm start). */
export interface MaidCurrent {
  value: number;
  upperGradNorm: number;
  lower: { iterations: number; gradNorm: number; certifiedError: number; stop: LowerStop };
}

/** Serializable optimizer state (for checkpoints and resume). */
export interface MaidState extends LbfgsMemory {
  theta: number[];
  epsilon: number;
  delta: number;
  step: number;
  iter: number;
  firstGradNorm: number;
  current?: MaidCurrent;
  /** Running mean of z_i² and its step count (metric 'rms'). */
  metricMean?: number[];
  metricSteps?: number;
}

/**
 * MAID — Method of Adaptive Inexact Descent (Salehi, Mukherjee, Roberts, Ehrhardt). Each iteration:
 * 1. z with bound ω at accuracies (ε, δ); while ω > (1 − η)‖z‖ shrink ε, δ by ν (−z is then a certified descent direction);
 * 2. backtrack α ← ρα until U(θ − αz) − L(θ) + λα‖z‖² ≤ 0 with
 *    U = g(x̃⁺) + ‖∇g(x̃⁺)‖ε⁺ + (L_g/2)ε⁺², L = g(x̃) − ‖∇g(x̃)‖ε − (L_g/2)ε²  (ε the certified accuracies);
 *    if no α passes, shrink ε, δ and go back to 1 — at once (keeping α) when the computed values g(x̃⁺) − g(x̃)
 *    already decrease enough and only the ε-terms fail the test, since a shorter step cannot fix that;
 * 3. after a success grow ε, δ by ν̄ and the next initial α by `stepGrow`.
 * Re-solves warm-start from the nearest x̃ held: a refinement at θ from the finest x̃ there (made the oracle's warm
 * start), a trial rejected for accuracy alone from its own x̃ when the retried trial point is nearer to it than to θ.
 * In float32 the accuracies cannot shrink forever: below the floor (`atFloor`) MAID either stops or clamps ε, δ
 * there and takes uncertified steps (backtracking on the computed loss) until no step decreases it (with the L-BFGS
 * metric: until neither the quasi-Newton direction nor, retried once, −z does).
 */
export class Maid implements OuterOptimizer {
  readonly name = 'maid';
  state: MaidState | undefined;

  constructor(readonly options: MaidOptions = MAID_DEFAULTS) {}

  saveState(): MaidState | undefined {
    return this.state && structuredClone(this.state);
  }

  restoreState(state: unknown): void {
    this.state = structuredClone(state as MaidState);
  }

  /** ε, δ ← f·(ε, δ): f = shrink ('fixed'), or the predicted factor clamped to [10⁻³, shrink] ('predicted'). */
  private shrinkAccuracy(s: MaidState, predicted: number): void {
    const o = this.options;
    const f = o.shrinkRule === 'predicted' && predicted > 0 ? Math.min(o.shrink, Math.max(1e-3, predicted)) : o.shrink;
    s.epsilon *= f;
    s.delta *= f;
  }

  /**
   * f(θ) ∈ [value − width, value + width]: the adjoint-corrected estimate where `hg` carries one, else
   * g(x̃) ± (‖∇g(x̃)‖ε + ½L_g ε²).
   */
  private valueBounds(ev: LowerEvaluation, hg: HypergradientResult | undefined, Lg: number): { value: number; width: number } {
    if (hg?.valueEstimate) return { value: hg.valueEstimate.value, width: hg.valueEstimate.bound };
    const e = ev.lower.certifiedError;
    return { value: ev.value, width: ev.upperGradNorm * e + 0.5 * Lg * e * e };
  }

  /** The step direction d for z at θ, and the metric state it would commit on acceptance (see `metric`). */
  private direction(theta: Float64Array, z: Float64Array, s: MaidState): { d: Float64Array; commit: Partial<MaidState> } {
    const o = this.options;
    if (o.metric === 'identity') return { d: z, commit: {} };
    if (o.metric === 'lbfgs') return lbfgsDirection(theta, z, s, o.metricMemory);
    const b = o.metricDecay, t = (s.metricSteps ?? 0) + 1;
    const mean = Array.from(z, (zi, i) => b * (s.metricMean?.[i] ?? 0) + (1 - b) * zi * zi);
    const scale = Math.sqrt(Math.max(...mean) / (1 - b ** t));
    // ϵ = 10⁻⁸ × the largest RMS keeps entries with a vanishing running mean finite.
    const d = Float64Array.from(z, (zi, i) => zi / (Math.sqrt(mean[i] / (1 - b ** t)) + 1e-8 * scale));
    const dNorm = norm(d);
    if (!(dNorm > 0)) return { d: z, commit: {} };
    const r = norm(z) / dNorm;
    return { d: d.map((di) => di * r), commit: { metricMean: mean, metricSteps: t } };
  }

  run(oracle: HypergradientOracle, theta0: Float64Array, ctx: OptimizerContext): OptimizerResult {
    const o = this.options;
    const s: MaidState = this.state ?? { theta: Array.from(theta0), epsilon: o.epsilon0, delta: o.delta0, step: o.step0, iter: 0, firstGradNorm: 0 };
    this.state = s;
    const rules = new StopRules(ctx.budget, oracle, ctx.shouldStop);
    const Lg = oracle.upper.lipschitz;
    const adjoint = o.valueBound === 'adjoint';
    // The accepted trial's hypergradient (adjoint bounds), reused while its evaluation and CG residual δ still hold.
    let carried: { hg: HypergradientResult; delta: number } | undefined;
    // After a restore, the accepted x̃ is the oracle's warm start: rebuild the evaluation around a copy of it.
    const restored = s.current && tf.keep(oracle.current.clone());
    let current: LowerEvaluation | undefined = s.current && restored && {
      theta: Float64Array.from(s.theta), x: restored, value: s.current.value, upperGradNorm: s.current.upperGradNorm,
      lower: { ...s.current.lower, x: restored },
    };
    // The last trial rejected for accuracy alone: the retry after shrinking ε warm-starts from its x̃ (see closerTo).
    let retry: LowerEvaluation | undefined;
    const finish = (reason: StopReason, message: string): OptimizerResult => {
      if (current) oracle.release(current);
      if (retry) oracle.release(retry);
      return { theta: Float64Array.from(s.theta), stopReason: reason, message, iterations: s.iter };
    };

    for (;;) {
      const stop = rules.check(s.iter);
      if (stop) return finish(stop.reason, stop.message);
      const theta = Float64Array.from(s.theta);
      let backtracks = 0;
      let accepted: { ev: LowerEvaluation; step: number; hg: HypergradientResult; commit: Partial<MaidState>; next?: HypergradientResult } | undefined;
      let hg: HypergradientResult | undefined;
      // Uncertified: the accuracy needed for a certified step is below the float32 floor (atFloor 'clamp').
      let uncertified = false;
      let floorCause = '';
      while (!accepted) {
        const floor = oracle.accuracyFloor(theta);
        if (s.epsilon < floor) {
          if (o.atFloor === 'stop' || uncertified) return finish('accuracy-floor', `ε = ${s.epsilon.toExponential(2)} fell below the float32 floor ${floor.toExponential(2)}`);
          s.epsilon = floor;
          uncertified = true;
          floorCause = `ε at the float32 floor ${floor.toExponential(2)}`;
        }
        if (current && current.lower.certifiedError > s.epsilon) {
          oracle.release(current);
          current = undefined;
        }
        if (!current) {
          current = oracle.evaluate(theta, s.epsilon);
          // x̃ at the accepted θ, finer than the last accepted one: later refinements and trials warm-start from it.
          oracle.accept(current);
        }
        if (current.lower.stop === 'float32-floor') {
          if (o.atFloor === 'stop') return finish('accuracy-floor', `the lower-level solver stalled at ‖∇h‖/μ = ${current.lower.certifiedError.toExponential(2)} > ε (float32)`);
          s.epsilon = Math.max(s.epsilon, current.lower.certifiedError);
          uncertified = true;
          floorCause = `the lower-level solver stalled at ‖∇h‖/μ = ${current.lower.certifiedError.toExponential(2)} (float32)`;
        }
        const dFloor = deltaFloor(oracle, theta, current.upperGradNorm);
        if (s.delta < dFloor) {
          if (o.atFloor === 'stop') return finish('accuracy-floor', `δ = ${s.delta.toExponential(2)} fell below the float32 floor ${dFloor.toExponential(2)}`);
          s.delta = dFloor;
          uncertified = true;
          floorCause = `δ at the float32 floor ${dFloor.toExponential(2)}`;
        }
        hg = carried && carried.hg.evaluation === current && carried.delta <= s.delta
          ? carried.hg
          : oracle.hypergradient(theta, current.lower.certifiedError, s.delta, current, { valueEstimate: adjoint });
        carried = undefined;
        const zNorm = Math.hypot(...hg.grad);
        if (s.iter === 0 && s.firstGradNorm === 0) s.firstGradNorm = zNorm;
        if (zNorm + hg.errorBound <= Math.max(o.gradTol, o.relGradTol * s.firstGradNorm)) {
          return finish('converged', `‖z‖ + ω = ${(zNorm + hg.errorBound).toExponential(2)} is below the gradient tolerance`);
        }
        const { d: metricD, commit } = this.direction(theta, hg.grad, s);
        const { d, zd, omegaMax, steepestStep } = certifiedDirection(hg.grad, metricD, uncertified ? 0 : hg.errorBound, o.eta, o.metric === 'lbfgs');
        // A quasi-Newton direction carries its own scale: try the unit step first (capped, see quasiNewtonStep).
        const step0 = steepestStep ?? (o.metric === 'lbfgs' && s.pairs?.length ? quasiNewtonStep(d, theta, s.last?.theta, o.stepCap) : s.step);
        if (!uncertified && hg.errorBound > omegaMax) {
          this.shrinkAccuracy(s, (0.9 * omegaMax) / hg.errorBound);
          continue;
        }
        // Certified: U(θ⁺) − L(θ) + λα‖z‖² ≤ 0 with the ε-bounds; uncertified: the computed values themselves.
        const now = this.valueBounds(current, hg, Lg);
        const lower = uncertified ? now.value : now.value - now.width;
        let needed = 0; // the ε at which the bounds would certify an accuracy-limited step's computed decrease
        for (let i = 0; i < o.maxBacktracks; i++) {
          const step = step0 * o.backtrack ** i;
          const trial = theta.map((t, j) => t - step * d[j]);
          const ev = oracle.evaluate(trial, s.epsilon, retry && closerTo(trial, retry.theta, theta) ? retry : undefined);
          if (retry) oracle.release(retry);
          retry = undefined;
          const trialHg = adjoint ? oracle.hypergradient(trial, ev.lower.certifiedError, s.delta, ev, { valueEstimate: true }) : undefined;
          const next = this.valueBounds(ev, trialHg, Lg);
          if ((uncertified ? next.value : next.value + next.width) - lower + o.lambda * step * zd <= 0) {
            accepted = { ev, step, hg, commit, next: trialHg };
            break;
          }
          // The computed values decrease enough but their ε-bounds do not: shorter steps cannot help, more accuracy can.
          const decrease = now.value - next.value - o.lambda * step * zd;
          const accuracyLimited = !uncertified && decrease >= 0;
          if (accuracyLimited) {
            // The adjoint widths are second order in ε (δ shrinks with it); the gradient widths solve Gε + L_g ε² = D.
            needed = trialHg?.valueEstimate && hg.valueEstimate
              ? s.epsilon * Math.sqrt(decrease / (now.width + next.width))
              : certifyingAccuracy(decrease, current.upperGradNorm + ev.upperGradNorm, Lg);
          }
          backtracks++;
          if (accuracyLimited) {
            retry = ev;
            break;
          }
          oracle.release(ev);
          const stopNow = rules.check(s.iter);
          if (stopNow) return finish(stopNow.reason, stopNow.message);
        }
        if (!accepted) {
          // A stale quasi-Newton model can fail where −z still descends: drop it and retry once before giving up.
          if (uncertified && o.metric === 'lbfgs' && (s.pairs?.length || s.last)) {
            s.pairs = [];
            s.last = undefined;
            continue;
          }
          if (uncertified) return finish('accuracy-floor', `no decrease of the computed loss along the step direction with ${floorCause}`);
          this.shrinkAccuracy(s, needed > 0 ? (0.9 * needed) / s.epsilon : o.shrink);
        }
      }
      oracle.accept(accepted.ev);
      oracle.release(current!);
      current = accepted.ev;
      s.theta = Array.from(accepted.ev.theta);
      Object.assign(s, o.metric === 'lbfgs' ? memoryAfterStep(accepted.commit, backtracks) : accepted.commit);
      s.current = { value: current.value, upperGradNorm: current.upperGradNorm, lower: { iterations: current.lower.iterations, gradNorm: current.lower.gradNorm, certifiedError: current.lower.certifiedError, stop: current.lower.stop } };
      const record: IterationRecord = {
        iter: s.iter + 1,
        seconds: rules.seconds,
        upperLoss: accepted.next?.valueEstimate?.value ?? accepted.ev.value,
        epsilon: s.epsilon,
        delta: s.delta,
        omega: accepted.hg.errorBound,
        gradNorm: Math.hypot(...accepted.hg.grad),
        step: accepted.step,
        backtracks,
        lowerIterations: oracle.counters.lowerIterations,
        cgIterations: oracle.counters.cgIterations,
        omegaRatio: accepted.hg.errorBound / Math.hypot(...accepted.hg.grad),
        lowerIterationsCall: accepted.ev.lower.iterations,
        cgIterationsCall: accepted.hg.stats.cgIterations,
        lowerSeconds: oracle.counters.lowerSeconds,
        cgSeconds: oracle.counters.cgSeconds,
        otherSeconds: rules.seconds - oracle.counters.lowerSeconds - oracle.counters.cgSeconds,
        certified: uncertified ? 0 : 1,
      };
      if (accepted.next) carried = { hg: accepted.next, delta: s.delta };
      s.iter++;
      s.step = accepted.step * o.stepGrow;
      s.epsilon *= o.grow;
      s.delta *= o.grow;
      ctx.onIteration?.(record, Float64Array.from(s.theta));
    }
  }
}

/**
 * MAID's descent test for the metric direction d at bound ω: d is certified when ω ≤ (1 − η)⟨z, d⟩/‖d‖ (omegaMax).
 * With `fallback` (quasi-Newton d), a d that fails while −z passes (ω ≤ (1 − η)‖z‖) is replaced by −z — cheaper than
 * the accuracy d would need — whose first step `steepestStep` = ⟨z, d⟩/‖z‖² is H's scale along z (d = Hz).
 */
export function certifiedDirection(
  z: Float64Array, d: Float64Array, omega: number, eta: number, fallback: boolean,
): { d: Float64Array; zd: number; omegaMax: number; steepestStep?: number } {
  const zd = dot(d, z);
  const omegaMax = ((1 - eta) * zd) / norm(d);
  const zz = dot(z, z);
  if (omega <= omegaMax || !fallback || d === z || omega > (1 - eta) * Math.sqrt(zz) || !(zd > 0)) return { d, zd, omegaMax };
  return { d: z, zd: zz, omegaMax: (1 - eta) * Math.sqrt(zz), steepestStep: zd / zz };
}

/**
 * The first trial step along a quasi-Newton d: 1, but no longer than `cap` × the last accepted step ‖θ − θ_last‖
 * (cap 0: no limit). With inexact z a pair (Δθ, Δz) can carry a spuriously small curvature, and a unit step along
 * the resulting d can land where the lower-level problem costs a thousand iterations to solve (TV Kodak96: ‖d‖ = 157×
 * the last step). After heavily backtracked first steps (piggyback) the cap also delays good unit steps.
 */
export function quasiNewtonStep(d: Float64Array, theta: Float64Array, lastTheta: number[] | undefined, cap = 10): number {
  if (!lastTheta || !(cap > 0)) return 1;
  const last = distance(theta, lastTheta);
  const length = norm(d);
  return last > 0 && length > cap * last ? (cap * last) / length : 1;
}

/** Whether θ is closer to `a` than to `b` (Euclidean): a trial re-solved near an earlier trial `a` warm-starts there. */
export function closerTo(theta: Float64Array, a: Float64Array, b: Float64Array): boolean {
  return distance(theta, a) < distance(theta, b);
}

/** The positive root ε of Gε + L_g ε² = D (D > 0), i.e. 2D/(G + √(G² + 4 L_g D)). */
export function certifyingAccuracy(D: number, G: number, Lg: number): number {
  return D > 0 ? (2 * D) / (G + Math.sqrt(G * G + 4 * Lg * D)) : 0;
}
