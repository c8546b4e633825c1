import type { HypergradientResult, LowerEvaluation, Oracle, Stop, ValueEstimate } from '@bilevel/core';
import { deltaFloor, distance, dot, norm, type FloorPolicy } from './common.js';
import { lbfgsDirection, type LbfgsMemory } from './lbfgs.js';
import type { ToleranceScale } from './tolerances.js';

/**
 * MAID's parts (DESIGN §2) as small functions over plain numbers: the step metric, the certified descent direction,
 * the value bounds of the sufficient-decrease test, and the accuracy control (shrink rule, float32 floors). MAID,
 * stochastic MAID and fixed-accuracy descent call them directly.
 */

export type StepMetric = 'identity' | 'rms' | 'lbfgs';
export type ShrinkRule = 'fixed' | 'predicted';
export type ValueBound = 'gradient' | 'adjoint';

/** The metric state a step direction reads and, once its step is accepted, commits. */
export interface MetricState extends LbfgsMemory {
  /** Running mean of z_i² and its step count (metric 'rms'). */
  metricMean?: number[];
  metricSteps?: number;
}

/**
 * The step direction d for z at θ, and the metric state it would commit on acceptance: 'identity' d = z; 'rms'
 * d_i = z_i/(√v̂_i + ϵ) rescaled to ‖d‖ = ‖z‖ (v̂ the bias-corrected running mean of z_i², decay `metricDecay`);
 * 'lbfgs' d = Hz (lbfgsDirection over `metricMemory` pairs).
 */
export function stepMetric(theta: Float64Array, z: Float64Array, s: MetricState, o: { metric: StepMetric; metricDecay: number; metricMemory: number }): { d: Float64Array; commit: MetricState } {
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

/**
 * f(θ) ∈ [value − width, value + width]: the adjoint-corrected estimate where the hypergradient carries one, else
 * g(x̃) ± (‖∇g(x̃)‖ε + ½L_g ε²) with ε = the certified error of x̃.
 */
export function valueBounds(ev: LowerEvaluation, estimate: ValueEstimate | undefined, Lg: number): { value: number; width: number } {
  if (estimate) return { value: estimate.value, width: estimate.bound };
  const e = ev.lower.certifiedError;
  return { value: ev.value, width: ev.upperGradNorm * e + 0.5 * Lg * e * e };
}

/** The accuracies MAID adapts, per element (RMS; see toleranceScale). */
export interface Accuracy {
  epsilon: number;
  delta: number;
}

/** ε, δ ← f·(ε, δ): f = shrink ('fixed'), or the predicted factor clamped to [10⁻³, shrink] ('predicted'). */
export function shrinkAccuracy(s: Accuracy, predicted: number, o: { shrinkRule: ShrinkRule; shrink: number }): void {
  const f = o.shrinkRule === 'predicted' && predicted > 0 ? Math.min(o.shrink, Math.max(1e-3, predicted)) : o.shrink;
  s.epsilon *= f;
  s.delta *= f;
}

/** Where an iteration stands against the float32 floors: uncertified once an accuracy was clamped there. */
export interface FloorStatus {
  uncertified: boolean;
  /** Why the iteration is uncertified (for the stop message). */
  cause: string;
}

const floorStop = (message: string): Stop => ({ reason: 'accuracy-floor', message });

/**
 * ε against the oracle's float floor u κ ‖x‖/4 (per element: u κ rms(x)/4, u the dtype's round-off): below it 'stop'
 * stops, 'clamp' raises ε to it (once per iteration: a second time stops) and makes the iteration uncertified.
 */
export async function epsilonFloor(oracle: Oracle, theta: Float64Array, s: Accuracy, f: FloorStatus, policy: FloorPolicy, sc: ToleranceScale): Promise<Stop | undefined> {
  const floor = (await oracle.accuracyFloor(theta)) / sc.x;
  if (s.epsilon < floor) {
    if (policy === 'stop' || f.uncertified) return floorStop(`ε = ${s.epsilon.toExponential(2)} fell below the float32 floor ${floor.toExponential(2)}`);
    s.epsilon = floor;
    f.uncertified = true;
    f.cause = `ε at the float32 floor ${floor.toExponential(2)}`;
  }
  return undefined;
}

/**
 * The lower-level solve at θ stalled at the float floor — detected by the solver, not guessed ('stop' stops; 'clamp'
 * raises ε to its certified error) — and δ against the CG floor 4u‖∇g‖L/μ ('stop' stops; 'clamp' raises δ to it):
 * either clamp makes the iteration uncertified. Accuracies per element (sc).
 */
export function solveFloors(oracle: Oracle, theta: Float64Array, current: LowerEvaluation, s: Accuracy, f: FloorStatus, policy: FloorPolicy, sc: ToleranceScale): Stop | undefined {
  const stalled = current.lower.certifiedError / sc.x;
  if (current.lower.stop === 'float32-floor') {
    if (policy === 'stop') return floorStop(`the lower-level solver stalled at ‖∇h‖/μ = ${stalled.toExponential(2)} per element > ε (float32)`);
    s.epsilon = Math.max(s.epsilon, stalled);
    f.uncertified = true;
    f.cause = `the lower-level solver stalled at ‖∇h‖/μ = ${stalled.toExponential(2)} per element (float32)`;
  }
  const dFloor = deltaFloor(oracle, theta, current.upperGradNorm) / sc.residual;
  if (s.delta < dFloor) {
    if (policy === 'stop') return floorStop(`δ = ${s.delta.toExponential(2)} fell below the float32 floor ${dFloor.toExponential(2)}`);
    s.delta = dFloor;
    f.uncertified = true;
    f.cause = `δ at the float32 floor ${dFloor.toExponential(2)}`;
  }
  return undefined;
}

/** A hypergradient as plain numbers, carried into the next pass while x̃ and δ hold (the accepted trial's, the calibration's). */
export interface CarriedHypergradient {
  grad: number[];
  errorBound: number;
  valueEstimate?: ValueEstimate;
  cgIterations: number;
  /** The δ it was computed at. */
  delta: number;
}

/** `hg` computed at residual δ, as a CarriedHypergradient. */
export function carriedHypergradient(hg: HypergradientResult, delta: number): CarriedHypergradient {
  const estimate = hg.valueEstimate && { value: hg.valueEstimate.value, bound: hg.valueEstimate.bound };
  return { grad: Array.from(hg.grad), errorBound: hg.errorBound, ...(estimate ? { valueEstimate: estimate } : {}), cgIterations: hg.stats.cgIterations, delta };
}
