import { meanPsnr, tf, type IterationRecord, type OptimizerResult, type OuterOptimizer } from '@bilevel/core';
import { expect } from 'vitest';
import { smallTvOracle } from '../../core/test/fixtures.js';

export const theta0 = Float64Array.from([-5, -5]);

/** Runs `opt` on a fresh small TV problem; returns the result, the rows and train PSNRs before/after. */
export function runSmall(opt: OuterOptimizer, budget: { maxIterations: number; maxInnerIterations?: number; maxSeconds?: number }, o: { count?: number; size?: number; shouldStop?: () => boolean } = {}) {
  const oracle = smallTvOracle(o.count ?? 2, o.size ?? 24);
  const targets = oracle.upper.targets;
  const before = meanPsnr(oracle.current, targets);
  const rows: IterationRecord[] = [];
  const result: OptimizerResult = opt.run(oracle, theta0, { budget, shouldStop: o.shouldStop, onIteration: (r) => rows.push({ ...r }) });
  const after = meanPsnr(oracle.current, targets);
  const counters = { ...oracle.counters };
  oracle.dispose();
  tf.dispose([targets, oracle.problem.measurement]);
  return { result, rows, before, after, counters };
}

/**
 * Every row carries MAID's fields, with cumulative (non-decreasing) work counters. `omega: false` (optimizers that
 * do not compute ω everywhere, see HypergradientOptions.errorBound): ω is finite or NaN (not computed).
 */
export function expectRecords(rows: IterationRecord[], { omega = true } = {}) {
  for (const k of ['iter', 'seconds', 'upperLoss', 'epsilon', 'delta', 'gradNorm', 'step', 'backtracks', 'lowerIterations', 'cgIterations']) {
    for (const r of rows) expect(Number.isFinite(r[k]), `${k} = ${r[k]}`).toBe(true);
  }
  for (const r of rows) expect(Number.isFinite(r.omega) || (!omega && Number.isNaN(r.omega)), `omega = ${r.omega}`).toBe(true);
  for (let i = 1; i < rows.length; i++) {
    expect(rows[i].iter).toBe(rows[i - 1].iter + 1);
    expect(rows[i].lowerIterations).toBeGreaterThanOrEqual(rows[i - 1].lowerIterations);
    expect(rows[i].cgIterations).toBeGreaterThanOrEqual(rows[i - 1].cgIterations);
  }
}

/** tf.memory().numTensors at iterations 5 and `last` of a run. */
export function tensorCounts(opt: OuterOptimizer, last: number, size = 16) {
  const oracle = smallTvOracle(2, size);
  const counts: Record<number, number> = {};
  const r = opt.run(oracle, theta0, { budget: { maxIterations: last }, onIteration: (row) => (counts[row.iter] = tf.memory().numTensors) });
  oracle.dispose();
  tf.dispose([oracle.upper.targets, oracle.problem.measurement]);
  return { result: r, at5: counts[5], atLast: counts[last] };
}
