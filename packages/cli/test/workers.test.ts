import { describe, expect, it } from 'vitest';
import { HypergradientOracle, LowerLevelProblem, runExperiment, tf } from '@bilevel/core';
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

  it("sums the shards' adjoint-corrected values: within the two bounds of the in-process oracle's", async () => {
    const spec = await buildExperiment(config);
    const theta = Float64Array.from([-3, -4]);
    const x0 = spec.operator.naiveReconstruction(spec.train.measurement);
    const oracle = new HypergradientOracle(new LowerLevelProblem(spec.operator, spec.fidelity, spec.regularizer, spec.train.measurement, spec.gamma), spec.train.clean, spec.lowerSolver, spec.linearSolver, x0, spec.seed);
    const local = oracle.hypergradient(theta, 1e-2, 1e-3, undefined, { valueEstimate: true });
    const sharded = await ShardedOracle.create(spec, { config, baseDir: process.cwd(), workers: 2, shards: 2 });
    const before = { ...sharded.counters };
    const remote = sharded.hypergradient(theta, 1e-2, 1e-3, undefined, { valueEstimate: true });
    const [a, b] = [local.valueEstimate!, remote.valueEstimate!];
    console.log(`corrected f: in-process ${a.value} ± ${a.bound.toExponential(2)}, 2 shards ${b.value} ± ${b.bound.toExponential(2)}`);
    expect(Math.abs(a.value - b.value)).toBeLessThanOrEqual(a.bound + b.bound);
    expect(b.bound).toBeLessThan(remote.evaluation.upperGradNorm * 1e-2);
    expect(sharded.counters.lowerIterations - before.lowerIterations).toBeGreaterThanOrEqual(1);
    // A re-solve at finer ε from that evaluation (evaluate's `from`) costs less than one from the accepted iterate.
    const fromAccepted = sharded.evaluate(theta, 1e-4);
    const fromRemote = sharded.evaluate(theta, 1e-4, remote.evaluation);
    expect(fromRemote.lower.certifiedError).toBeLessThanOrEqual(1e-4);
    expect(fromRemote.lower.iterations).toBeLessThan(fromAccepted.lower.iterations);
    sharded.release(fromAccepted);
    sharded.release(fromRemote);
    oracle.release(local.evaluation);
    oracle.dispose();
    x0.dispose();
    sharded.release(remote.evaluation);
    sharded.dispose();
    tf.dispose([spec.train.clean, spec.train.measurement]);
  }, 120_000);
});
