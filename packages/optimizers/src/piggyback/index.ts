import { meanPsnr, type HypergradientOracle, type ImageBatch, type OptimizerContext, type OptimizerResult } from '@bilevel/core';
import { FixedAccuracyDescent, FIXED_ACCURACY_DEFAULTS, type FixedAccuracyOptions } from '../fixed.js';
import { Maid, MAID_DEFAULTS, type MaidOptions } from '../maid.js';
import { ConvOperatorFamily } from './operator.js';
import { PiggybackOracle, type PiggybackOptions } from './oracle.js';

export { ConvOperatorFamily, BoundConvOperator, convOperatorNorm, type DualField, type LearnedInit } from './operator.js';
export { PiggybackOracle, PIGGYBACK_DEFAULTS, type PiggybackOptions, type PiggybackEvaluation } from './oracle.js';

/** The two outer methods used with the piggyback oracle: MAID's adaptive accuracy and backtracking, or fixed accuracy. */
export type PiggybackMethod =
  | { kind: 'adaptive'; options?: Partial<MaidOptions> }
  | { kind: 'fixed'; options?: Partial<FixedAccuracyOptions> };

/**
 * Learns θ of K_θ by inexact piggyback: MAID (certified descent test, inexact backtracking, adaptive ε/δ) or fixed-accuracy
 * descent, both running on the PiggybackOracle through the oracle interface they use for HypergradientOracle.
 */
export function runPiggyback(oracle: PiggybackOracle, theta0: Float64Array, method: PiggybackMethod, ctx: OptimizerContext): OptimizerResult {
  const o = oracle as unknown as HypergradientOracle;
  if (method.kind === 'adaptive') return new Maid({ ...MAID_DEFAULTS, ...method.options }).run(o, theta0, ctx);
  return new FixedAccuracyDescent({ ...FIXED_ACCURACY_DEFAULTS, ...method.options }).run(o, theta0, ctx);
}

/** Mean PSNR of the saddle-point reconstructions at θ (solved to `tolerance` from the noisy images). */
export function piggybackPsnr(family: ConvOperatorFamily, theta: Float64Array, noisy: ImageBatch, clean: ImageBatch, tolerance = 1e-3, options: Partial<PiggybackOptions> = {}) {
  const oracle = new PiggybackOracle(family, noisy, clean, options);
  const ev = oracle.evaluate(theta, tolerance);
  const psnr = meanPsnr(ev.x, clean);
  const loss = ev.value;
  oracle.release(ev);
  oracle.dispose();
  return { psnr, loss, iterations: ev.lower.iterations };
}
