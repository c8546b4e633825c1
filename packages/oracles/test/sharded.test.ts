import { describe, expect, it } from 'vitest';
import { tf } from '@bilevel/core';
import { assignShards, shardRanges, type ShardedOracle } from '@bilevel/oracles';
import { smallTvOracle } from './fixtures.js';
import { shardedTv } from './sharded-fixture.js';

/** A few accepted hypergradient steps with one subset step in between; returns the gradients. */
async function trajectory(o: ShardedOracle): Promise<number[]> {
  let theta = Float64Array.from([-3, -4]);
  const out: number[] = [];
  for (let k = 0; k < 3; k++) {
    const hg = await o.hypergradient(theta, 1e-3, 1e-3);
    await o.accept(hg.evaluation);
    o.release(hg.evaluation);
    out.push(...hg.grad);
    theta = theta.map((t, j) => t - 0.5 * hg.grad[j] / Math.hypot(...hg.grad));
    const sub = await o.subset([3, 0, 1]);
    const sg = await sub.hypergradient(theta, 1e-3, 1e-3);
    await sub.accept(sg.evaluation);
    out.push(...sg.grad);
    await o.merge(sub, { keep: true, costScaling: 'per-image' });
  }
  return out;
}

describe('sharded oracle (worker threads)', () => {
  it('shards are contiguous, balanced and independent of the worker count', () => {
    expect(shardRanges(7, 3)).toEqual([[0, 2], [2, 4], [4, 7]]);
    expect(assignShards(4, 2)).toEqual([[0, 2], [1, 3]]);
    expect(assignShards(2, 8)).toEqual([[0], [1]]);
  });

  it('1 and 2 workers give the same hypergradients, subsets included, and close to the in-process oracle', async () => {
    const one = await shardedTv(1);
    const two = await shardedTv(2);
    const [a, b] = [await trajectory(one), await trajectory(two)];
    expect(b).toEqual(a);
    expect(two.counters).toMatchObject({ lowerIterations: one.counters.lowerIterations, cgIterations: one.counters.cgIterations });
    const local = await smallTvOracle(4, 12);
    const theta = Float64Array.from([-3, -4]);
    const [r, s] = [await local.hypergradient(theta, 1e-5, 1e-7), await two.hypergradient(theta, 1e-5, 1e-7)];
    const rel = Math.hypot(...Array.from(r.grad, (g, j) => g - s.grad[j])) / Math.hypot(...r.grad);
    expect(rel).toBeLessThan(1e-3);
    expect(Math.abs(r.value - s.value)).toBeLessThan(1e-5 * r.value);
    local.release(r.evaluation);
    tf.dispose([local.upper.targets, local.problem.measurement]);
    await local.dispose();
    await one.dispose();
    await two.dispose();
  }, 60_000);
});
