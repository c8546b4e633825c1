import { meanPsnr, runOptimizer, type DriverOptions, type ImageBatch, type Oracle, type OptimizerResult } from '@bilevel/core';
import { FixedAccuracyDescent, FIXED_ACCURACY_DEFAULTS, type FixedAccuracyOptions } from '../fixed.js';
import { Maid, MAID_DEFAULTS, type MaidOptions } from '../maid.js';

/** The two outer methods used with the piggyback oracle: MAID's adaptive accuracy and backtracking, or fixed accuracy. */
export type PiggybackMethod =
  | { kind: 'adaptive'; options?: Partial<MaidOptions> }
  | { kind: 'fixed'; options?: Partial<FixedAccuracyOptions> };

/**
 * Learns θ of K_θ by inexact piggyback: MAID (certified descent test, inexact backtracking, adaptive ε/δ) or fixed-accuracy
 * descent, run by runOptimizer on the piggyback oracle (any Oracle) like on every other oracle.
 */
export function runPiggyback(oracle: Oracle, theta0: Float64Array, method: PiggybackMethod, o: DriverOptions): Promise<OptimizerResult> {
  if (method.kind === 'adaptive') return runOptimizer(new Maid({ ...MAID_DEFAULTS, ...method.options }), oracle, theta0, o);
  return runOptimizer(new FixedAccuracyDescent({ ...FIXED_ACCURACY_DEFAULTS, ...method.options }), oracle, theta0, o);
}

/**
 * Mean PSNR and upper loss of `oracle`'s reconstructions at θ solved to `tolerance` (for the piggyback oracle: the
 * saddle-point reconstructions from the noisy images), against `clean`. Warm-starts from the oracle's accepted x̃.
 */
export async function piggybackPsnr(oracle: Oracle, theta: Float64Array, clean: ImageBatch, tolerance = 1e-3): Promise<{ psnr: number; loss: number; iterations: number }> {
  const ev = await oracle.evaluate(theta, tolerance);
  const x = await oracle.reconstruction(ev);
  const psnr = await meanPsnr(x, clean);
  x.dispose();
  oracle.release(ev);
  return { psnr, loss: ev.value, iterations: ev.lower.iterations };
}
