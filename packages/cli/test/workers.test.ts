import { describe, expect, it } from 'vitest';
import { runExperiment, tf } from '@bilevel/core';
import { buildExperiment, ShardedOracle, shardRanges, assignShards } from '@bilevel/cli';

const config = {
  seed: 3,
  data: { train: { source: 'synthetic', count: 4, size: [32, 32] }, noise: { sigma: 0.1 } },
  regularizer: { name: 'tv', theta0: [-5, -5] },
  optimizer: 'maid',
  budget: { maxIterations: 6 },
};

async function learn(workers: number): Promise<number[]> {
  const spec = await buildExperiment(config);
  spec.oracle = await ShardedOracle.create(spec, { config, baseDir: process.cwd(), workers, shards: 2 });
  const r = runExperiment(spec);
  tf.dispose([spec.train.clean, spec.train.measurement, r.images.train.input, r.images.train.learned]);
  expect(r.iterations).toBe(6);
  return r.theta;
}

describe('data-parallel workers', () => {
  it('shards are contiguous, balanced and independent of the worker count', () => {
    expect(shardRanges(7, 3)).toEqual([[0, 2], [2, 4], [4, 7]]);
    expect(assignShards(4, 2)).toEqual([[0, 2], [1, 3]]);
    expect(assignShards(2, 8)).toEqual([[0], [1]]);
  });

  it('1 and 2 workers learn the same θ (to 1e-5 relative) from the same shards', async () => {
    const one = await learn(1);
    const two = await learn(2);
    const rel = Math.hypot(...one.map((v, i) => v - two[i])) / Math.hypot(...one);
    console.log(`θ with 1 worker ${one}, with 2 workers ${two}: relative difference ${rel.toExponential(2)}`);
    expect(rel).toBeLessThanOrEqual(1e-5);
  }, 120_000);
});
