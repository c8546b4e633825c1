import { addOptionIssue, z, type LowerEvaluation, type Oracle, type OuterOptimizer, type Stop, type StepContext, type StepResult } from '@bilevel/core';
import { deltaFloor, distance, FLOOR_POLICIES, fraction, nonNegative, norm, positive, whenFieldsValid } from './common.js';
import { toleranceScale } from './tolerances.js';

/** A-priori accuracy schedules of HOAG (Pedregosa 2016), k = 1, 2, …: geometric ε₀·ρ^(k−1), quadratic ε₀/k², cubic ε₀/k³. */
export const HOAG_SCHEDULES = ['geometric', 'quadratic', 'cubic', 'custom'] as const;
export type HoagSchedule = (typeof HOAG_SCHEDULES)[number];

/**
 * ε₀ and δ₀ when neither they nor a custom schedule's first accuracy are given, per element (RMS): 10⁻¹ Euclidean on
 * 8 images of 96×96, the reference's scale.
 */
const HOAG_EPSILON0 = 3e-4;

/** HOAG's options, declared once; ε₀ and δ₀ default to the custom schedule's first accuracy (see hoagOptions). */
export const HOAG_SCHEMA = z.strictObject({
  schedule: z.enum(HOAG_SCHEDULES).default('geometric')
    .describe('accuracy schedule: geometric ε₀·decay^(k−1) | quadratic ε₀/k² | cubic ε₀/k³ | custom (epsilons)'),
  /** ε₀: lower-level accuracy of the first iteration. */
  epsilon0: positive().optional().meta({ default: HOAG_EPSILON0 }).describe('ε₀ (schedule custom: epsilons[0])'),
  /** δ₀: CG residual of the first iteration; δ_k follows the same schedule (δ_k = ε_k δ₀/ε₀). */
  delta0: positive().optional().meta({ default: HOAG_EPSILON0 }).describe('δ₀ (δ_k = ε_k δ₀/ε₀; schedule custom: epsilons[0])'),
  /** Ratio ρ of the geometric schedule (the reference's exponential_decrease_factor). */
  decay: fraction().default(0.9).describe('ratio of the geometric schedule'),
  /** The 'custom' schedule: ε_k = epsilons[k − 1] (the last entry repeats). */
  epsilons: z.array(z.number()).optional().describe('custom schedule ε_1, ε_2, … (last repeats)'),
  /** Initial L (step 1/L); 0 = the reference's choice ‖z₀‖/√d (1 when ‖z₀‖ ≤ 1e-3). */
  L0: nonNegative().default(0).describe('initial L of the step 1/L (0: ‖z₀‖/√d as the reference)'),
  /** L ← L·lAccept after a sufficient decrease (the step grows). */
  lAccept: fraction().default(0.95).describe('L factor after sufficient decrease'),
  /** L ← L·lShrink when the decrease test fails but the loss did not jump (the step shrinks). */
  lShrink: z.number().min(1).default(2).describe('L factor when the decrease test fails or a step is rejected'),
  /** Reject when g(x̃_k) ≥ rejectRatio·g(x̃_{k−1}): go back to θ_{k−1}, L ← L·lShrink, tighten the schedule by `tighten`. */
  rejectRatio: z.number().gt(1).default(1.2).describe('reject when g_k ≥ ratio·g_{k−1}'),
  tighten: fraction().default(0.5).describe('schedule factor after a rejection'),
  /** C of the reference's decrease test g_k ≤ g_{k−1} + Cε_k + ε_{k−1}(C + 1)‖Δθ‖ − L‖Δθ‖². */
  C: nonNegative().default(0.25).describe('constant C of the decrease test'),
  /** Stop as converged once ‖z‖ ≤ max(gradTol, relGradTol·‖z₀‖). */
  gradTol: nonNegative().default(0).describe('stop when ‖z‖ ≤ gradTol'),
  relGradTol: nonNegative().default(1e-4).describe('stop when ‖z‖ ≤ relGradTol·‖z₀‖'),
  /** Below the float32 floor: 'clamp' keeps iterating at the floor, 'stop' stops with accuracy-floor. */
  atFloor: z.enum(FLOOR_POLICIES).default('clamp').describe('below the float32 floor: clamp | stop'),
}).superRefine((o, ctx) => {
  const { schedule, epsilons } = o;
  if (schedule === 'custom' && (!epsilons || epsilons.length === 0)) {
    addOptionIssue(ctx, 'epsilons', 'the custom schedule needs a non-empty list', 'give epsilons: [ε_1, ε_2, …] or choose another schedule');
  }
  if (epsilons?.some((e) => e <= 0)) addOptionIssue(ctx, 'epsilons', 'every accuracy must be > 0', 'remove zero or negative entries');
  if (epsilons && schedule !== 'custom') addOptionIssue(ctx, 'epsilons', 'only used by schedule "custom"', 'set schedule: "custom" or remove epsilons');
}, whenFieldsValid);

export type HoagOptions = Omit<z.output<typeof HOAG_SCHEMA>, 'epsilon0' | 'delta0'> & { epsilon0: number; delta0: number };

/** Parsed options with ε₀, δ₀ filled in: given, else the custom schedule's first accuracy, else 0.1. */
export function hoagOptions(o: z.output<typeof HOAG_SCHEMA>): HoagOptions {
  return { ...o, epsilon0: o.epsilon0 ?? o.epsilons?.[0] ?? HOAG_EPSILON0, delta0: o.delta0 ?? o.epsilons?.[0] ?? HOAG_EPSILON0 };
}

export const HOAG_DEFAULTS: HoagOptions = hoagOptions(HOAG_SCHEMA.parse({}));

/** Serializable HOAG state. */
export interface HoagState {
  theta: number[];
  /** Iterations so far (k − 1), rejections included. */
  iter: number;
  L: number;
  /** Product of the `tighten` factors of all rejections so far. */
  tightening: number;
  firstGradNorm: number;
  previous?: { theta: number[]; value: number; epsilon: number };
}

/**
 * HOAG (Pedregosa, ICML 2016) on the hypergradient oracle: at iteration k, x̃_k to accuracy ε_k (warm-started
 * from x̃_{k−1}), q̃_k by CG to residual δ_k (warm-started from q̃_{k−1}), z_k = −Jᵀq̃_k and θ_{k+1} = θ_k − z_k/L.
 * L adapts as in the reference on the step just taken: sufficient decrease → accept, L ← 0.95L; no decrease but
 * no jump → shrink the step, L ← 2L; a jump g_k ≥ 1.2 g_{k−1} → reject: back to θ_{k−1}, L ← 2L and the schedule
 * is tightened by 1/2 from then on.
 */
export class Hoag implements OuterOptimizer<HoagState> {
  readonly name = 'hoag';

  constructor(readonly options: HoagOptions = HOAG_DEFAULTS) {}

  /** ε_k (k = 1, 2, …) before tightening. */
  scheduled(k: number): number {
    const o = this.options;
    switch (o.schedule) {
      case 'geometric': return o.epsilon0 * o.decay ** (k - 1);
      case 'quadratic': return o.epsilon0 / (k * k);
      case 'cubic': return o.epsilon0 / (k * k * k);
      case 'custom': {
        const e = o.epsilons ?? [o.epsilon0];
        return e[Math.min(k - 1, e.length - 1)];
      }
    }
  }

  init(theta0: Float64Array): HoagState {
    return { theta: Array.from(theta0), iter: 0, L: this.options.L0, tightening: 1, firstGradNorm: 0 };
  }

  theta(state: HoagState): Float64Array {
    return Float64Array.from(state.theta);
  }

  /**
   * Iteration k = iter + 1: ε_k, δ_k of the (tightened) schedule — per element, returned Euclidean (× toleranceScale) as
   * the oracle and the reference's tests use them, and per element for the rows — raised to the float32 floors ('clamp'),
   * and x̃_k.
   */
  private async accuracies(oracle: Oracle, theta: Float64Array, k: number, s: HoagState): Promise<{ stop: Stop } | { ev: LowerEvaluation; epsilon: number; delta: number; atFloor: boolean; perElement: { epsilon: number; delta: number } }> {
    const o = this.options;
    const floorStop = (message: string) => ({ stop: { reason: 'accuracy-floor' as const, message } });
    const sc = toleranceScale(oracle);
    const scheduled = this.scheduled(k) * s.tightening;
    let epsilon = scheduled * sc.x;
    let delta = scheduled * (o.delta0 / o.epsilon0) * sc.residual;
    const floor = await oracle.accuracyFloor(theta);
    let atFloor = false;
    if (epsilon < floor) {
      if (o.atFloor === 'stop') return floorStop(`the schedule asks ε = ${epsilon.toExponential(2)} below the float32 floor ${floor.toExponential(2)}`);
      epsilon = floor;
      atFloor = true;
    }
    const ev = await oracle.evaluate(theta, epsilon);
    if (ev.lower.stop === 'float32-floor') {
      oracle.release(ev);
      return floorStop(`the lower-level solver stalled at ‖∇h‖/μ = ${ev.lower.certifiedError.toExponential(2)} > ε (float32)`);
    }
    const dFloor = deltaFloor(oracle, theta, ev.upperGradNorm);
    if (delta < dFloor) {
      if (o.atFloor === 'stop') {
        oracle.release(ev);
        return floorStop(`the schedule asks δ = ${delta.toExponential(2)} below the float32 floor ${dFloor.toExponential(2)}`);
      }
      delta = dFloor;
      atFloor = true;
    }
    return { ev, epsilon, delta, atFloor, perElement: { epsilon: epsilon / sc.x, delta: delta / sc.residual } };
  }

  /** L-adaptation on the step θ_{k−1} → θ_k (the reference's accept / shrink / reject-and-tighten): 1, 0 or −1. */
  private adapt(s: HoagState, theta: Float64Array, value: number, epsilon: number): 1 | 0 | -1 {
    const o = this.options;
    if (!s.previous) return 0;
    const incr = distance(theta, s.previous.theta);
    const prev = s.previous;
    if (value <= prev.value + o.C * epsilon + prev.epsilon * (o.C + 1) * incr - s.L * incr * incr) {
      s.L *= o.lAccept;
      return 1;
    }
    s.L *= o.lShrink;
    return value >= o.rejectRatio * prev.value ? -1 : 0;
  }

  async step(oracle: Oracle, state: HoagState, _ctx: StepContext): Promise<StepResult<HoagState>> {
    const o = this.options;
    const s = structuredClone(state);
    const theta = Float64Array.from(s.theta);
    const a = await this.accuracies(oracle, theta, s.iter + 1, s);
    if ('stop' in a) return { state: s, stop: a.stop };
    const { ev, epsilon, delta, atFloor, perElement } = a;
    const outcome = this.adapt(s, theta, ev.value, epsilon);
    if (outcome === -1) {
      // A jump g_k ≥ rejectRatio·g_{k−1}: back to θ_{k−1}, the step shrunk (L ← lShrink·L) and the schedule tightened.
      oracle.release(ev);
      s.theta = s.previous!.theta;
      s.previous = undefined;
      s.iter++;
      s.tightening *= o.tighten;
      return { state: s, record: { upperLoss: ev.value, ...perElement, omega: Number.NaN, gradNorm: 0, step: 0, backtracks: 1, L: s.L, rejected: 1 } };
    }
    // ω is needed only at the float32 floor (the stop test below); elsewhere its probes are skipped.
    const hg = await oracle.hypergradient(theta, ev.lower.certifiedError, delta, ev, { errorBound: atFloor });
    const zNorm = norm(hg.grad);
    if (s.firstGradNorm === 0) s.firstGradNorm = zNorm;
    if (s.L === 0) s.L = zNorm > 1e-3 ? zNorm / Math.sqrt(theta.length) : 1;
    await oracle.accept(ev);
    oracle.release(ev);
    if (zNorm <= Math.max(o.gradTol, o.relGradTol * s.firstGradNorm)) {
      return { state: s, stop: { reason: 'converged', message: `‖z‖ = ${zNorm.toExponential(2)} is below the gradient tolerance` } };
    }
    if (atFloor && zNorm <= hg.errorBound) {
      return { state: s, stop: { reason: 'accuracy-floor', message: `‖z‖ = ${zNorm.toExponential(2)} ≤ ω = ${hg.errorBound.toExponential(2)} at the float32 accuracy floor: the hypergradient is no longer resolved` } };
    }
    const step = 1 / s.L;
    s.previous = { theta: Array.from(theta), value: ev.value, epsilon };
    s.theta = Array.from(theta, (t, j) => t - step * hg.grad[j]);
    s.iter++;
    return { state: s, record: { upperLoss: ev.value, ...perElement, omega: hg.errorBound, gradNorm: zNorm, step, backtracks: 0, L: s.L, accepted: outcome } };
  }
}
