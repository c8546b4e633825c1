import {
  meanPsnr, readTensors, runOptimizer, tf,
  type Budget, type DriverOptions, type IterationRecord, type LowerEvaluation, type Oracle, type OptimizerResult, type OuterOptimizer, type RunCheckpoint,
} from '@bilevel/core';
import type { HypergradientOracle } from '@bilevel/oracles';
import { expect } from 'vitest';
import { smallTvOracle } from '../../oracles/test/fixtures.js';

export { boundAndError, smallTvOracle } from '../../oracles/test/fixtures.js';

export const theta0 = Float64Array.from([-5, -5]);

/** Disposes a smallTvOracle with its data. */
export async function disposeOracle(oracle: HypergradientOracle): Promise<void> {
  const data = [oracle.upper.targets, oracle.problem.measurement];
  await oracle.dispose();
  tf.dispose(data);
}

/** x̃ of `ev` (default: the accepted warm start) as numbers. */
export async function reconstructionOf(oracle: Oracle, ev?: LowerEvaluation): Promise<Float32Array> {
  const [x] = await readTensors(await oracle.reconstruction(ev));
  return x;
}

/** Mean PSNR of the oracle's warm start against its targets. */
async function warmPsnr(oracle: HypergradientOracle): Promise<number> {
  const x = await oracle.reconstruction();
  const psnr = await meanPsnr(x, oracle.upper.targets);
  x.dispose();
  return psnr;
}

/** An optimizer that remembers the last state its steps returned (the state at a stop included). */
export function recording<S>(opt: OuterOptimizer<S>): { optimizer: OuterOptimizer<S>; last(): S } {
  let last: S | undefined;
  const optimizer: OuterOptimizer<S> = {
    name: opt.name,
    init: (t, o) => (last = opt.init(t, o)),
    theta: (s) => opt.theta(s),
    step: async (o, s, ctx) => {
      const r = await opt.step(o, s, ctx);
      last = r.state;
      return r;
    },
  };
  return { optimizer, last: () => last! };
}

/** Runs `opt` on a fresh small TV problem; returns the result, the rows and train PSNRs before/after. */
export async function runSmall<S>(opt: OuterOptimizer<S>, budget: Budget, o: { count?: number; size?: number; shouldStop?: () => boolean; theta0?: Float64Array } = {}) {
  const oracle = await smallTvOracle(o.count ?? 2, o.size ?? 24);
  const before = await warmPsnr(oracle);
  const rows: IterationRecord[] = [];
  const result: OptimizerResult = await runOptimizer(opt, oracle, o.theta0 ?? theta0, { budget, shouldStop: o.shouldStop, onIteration: (r) => void rows.push({ ...r }) });
  const after = await warmPsnr(oracle);
  const counters = { ...oracle.counters };
  await disposeOracle(oracle);
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
export async function tensorCounts<S>(opt: OuterOptimizer<S>, last: number, size = 16) {
  const oracle = await smallTvOracle(2, size);
  const counts: Record<number, number> = {};
  const r = await runOptimizer(opt, oracle, theta0, { budget: { maxIterations: last }, onIteration: (row) => void (counts[row.iter] = tf.memory().numTensors) });
  await disposeOracle(oracle);
  return { result: r, at5: counts[5], atLast: counts[last] };
}

/**
 * Checkpoint/resume is bit-for-bit: `k` iterations uninterrupted (checkpointing every iteration), then the run resumed
 * on a fresh oracle from the checkpoint after `j` iterations (its optimizer state through JSON) must end at the same θ
 * with the same rows.
 */
export async function expectResumeExact<S>(make: () => OuterOptimizer<S>, k: number, j: number, o: { count?: number; size?: number; theta0?: Float64Array; options?: Partial<DriverOptions> } = {}) {
  const start = o.theta0 ?? theta0;
  const run = async (resume?: RunCheckpoint) => {
    const oracle = await smallTvOracle(o.count ?? 2, o.size ?? 16);
    const rows: IterationRecord[] = [];
    const checkpoints: RunCheckpoint[] = [];
    const result = await runOptimizer(make(), oracle, start, {
      ...o.options, budget: { maxIterations: k }, resume, checkpointEvery: 1,
      onIteration: (r) => void rows.push({ ...r }), onCheckpoint: (c) => void checkpoints.push(c),
    });
    await disposeOracle(oracle);
    return { result, rows, checkpoints };
  };
  const full = await run();
  expect(full.result.iterations).toBeGreaterThan(j);
  const at = full.checkpoints.find((c) => c.iterations === j)!;
  const resumed = await run({ ...at, optimizer: JSON.parse(JSON.stringify(at.optimizer)) });
  expect(resumed.result.stopReason).toBe(full.result.stopReason);
  expect(resumed.result.iterations).toBe(full.result.iterations);
  expect(Array.from(resumed.result.theta)).toEqual(Array.from(full.result.theta));
  const numbers = (rows: IterationRecord[]) => rows.map((r) => [r.upperLoss, r.epsilon, r.delta, r.step, r.backtracks, r.lowerIterations, r.cgIterations]);
  expect(numbers(resumed.rows)).toEqual(numbers(full.rows.slice(j)));
  return full;
}
