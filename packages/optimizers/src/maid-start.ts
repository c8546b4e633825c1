import type { Oracle } from '@bilevel/core';
import { norm } from './common.js';
import type { MaidOptions, MaidState } from './maid.js';
import { carriedHypergradient } from './maid-parts.js';
import type { ToleranceScale } from './tolerances.js';

/** What deriveStart found at θ₀ (per element), reported in the run's first row. */
export interface StartDerivation {
  [field: string]: number;
  /** e₀ = ‖∇ₓh(x₀, θ₀)‖/(μ√N): how far the naive reconstruction x₀ is certified to be from x̂(θ₀). */
  naiveResidual: number;
  /** r₀ = √(2g(x₀)/P): the naive reconstruction's RMS error, the problem's scale. */
  naiveError: number;
  /** ε_c (= δ_c), the calibration accuracy. */
  calibrationEpsilon: number;
  /** ω_c/‖z_c‖ at the calibration accuracy. */
  calibrationRatio: number;
  /** The starting values, given or derived. */
  epsilon0: number;
  delta0: number;
  step0: number;
}

/** The fraction c of min(e₀, r₀) the calibration solves to. */
const CALIBRATION = 0.1;
/** An accuracy "as coarse as the solver likes": one gradient, x₀ itself (finite: it crosses JSON to shard workers). */
const ANY_ACCURACY = Number.MAX_VALUE;

/** Whether a state still has starting values to derive (0 marks them). */
export function needsDerivation(s: MaidState): boolean {
  return s.iter === 0 && !s.evaluated && (s.epsilon === 0 || s.delta === 0 || s.step === 0);
}

/**
 * MAID's starting values at θ₀ for those the config leaves out (docs/optimizers.md, "Derived starting values"):
 *   e₀ = ‖∇ₓh(x₀, θ₀)‖/(μ√N),  r₀ = √(2g(x₀)/P)     (x₀ the naive reconstruction, the oracle's first warm start)
 *   ε_c = δ_c = max(c·min(e₀, r₀), floor),  z_c, ω_c at (ε_c, δ_c)   (or at the given ε₀, δ₀)
 *   α₀ = stepScale·max(‖θ₀‖, √p)/‖z_c‖   (then doubled while the first line search keeps decreasing: see expand)
 *   ε₀ = δ₀ = max(floor, min(ε_c, ε_c·½‖z_c‖/ω_c, α₀‖z_c‖²/(4‖∇g(x̃_c)‖√N)))
 * — the descent test ω ≤ ½‖z‖ (ω about linear in ε, δ) and the value bounds' width 2‖∇g‖ε√N at most half the first
 * step's predicted decrease ½α₀‖z‖². The calibration x̃_c becomes the accepted warm start, and z_c is carried into the
 * first iteration while its accuracies still hold. Mutates `s`.
 */
export async function deriveStart(oracle: Oracle, s: MaidState, o: MaidOptions, sc: ToleranceScale): Promise<StartDerivation> {
  const theta = Float64Array.from(s.theta);
  const floor = (await oracle.accuracyFloor(theta)) / sc.x;
  const naive = await oracle.evaluate(theta, ANY_ACCURACY);
  const naiveResidual = naive.lower.certifiedError / sc.x;
  const naiveError = Math.sqrt((2 * naive.value) / sc.pixels);
  oracle.release(naive);
  const coarse = Math.max(CALIBRATION * Math.min(naiveResidual, naiveError), floor);
  const epsC = s.epsilon || coarse;
  const deltaC = s.delta || coarse;
  const ev = await oracle.evaluate(theta, epsC * sc.x);
  await oracle.accept(ev);
  const hg = await oracle.hypergradient(theta, ev.lower.certifiedError, deltaC * sc.residual, ev, { valueEstimate: o.valueBound === 'adjoint' });
  const zNorm = norm(hg.grad);
  const ratio = hg.errorBound / zNorm;
  const step = s.step || (o.stepScale * Math.max(norm(theta), Math.sqrt(theta.length))) / (zNorm > 0 ? zNorm : 1);
  const forDescent = ratio > 0 ? epsC * Math.min(1, 0.5 / ratio) : epsC;
  const forDecrease = (step * zNorm * zNorm) / (4 * Math.max(ev.upperGradNorm, Number.MIN_VALUE) * sc.x);
  const derived = Math.max(floor, Math.min(forDescent, forDecrease));
  s.epsilon ||= derived;
  s.delta ||= Math.min(deltaC, derived);
  s.expandStep = !s.step;
  s.step = step;
  s.evaluated = true;
  if (s.delta >= deltaC && ev.lower.certifiedError <= s.epsilon * sc.x) s.carried = carriedHypergradient(hg, deltaC);
  return {
    naiveResidual, naiveError, calibrationEpsilon: epsC, calibrationRatio: ratio,
    epsilon0: s.epsilon, delta0: s.delta, step0: s.step,
  };
}
