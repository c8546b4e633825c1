import { describe, expect, it } from 'vitest';
import { tf, useBackend } from '@bilevel/core';
import { useEngine } from '@bilevel/distributed';
import { buildExperiment } from '@bilevel/experiment';
import { assertConformance, oracleConformance } from '@bilevel/testing';

// The distributed oracle (its shard jobs in this thread, arrays in memory) through the oracle conformance suite:
// hypergradient against central differences of f, ω ≥ the measured error, warm starts, save/restore, subset + merge,
// no tensor growth.

const config = {
  seed: 0,
  data: { train: { source: 'synthetic', count: 3, size: [12, 12], seed: 5 }, noise: { sigma: 0.1 } },
  regularizer: { name: 'tv' },
  lowerSolver: { name: 'fista', options: { maxIterations: 50000, stallWindow: 500 } },
  linearSolver: { name: 'cg', options: { maxIterations: 5000 } },
};

/** Tensors left after the suite ran on the experiment's oracle and the experiment was disposed. */
async function leftAfter(report?: (r: Awaited<ReturnType<typeof oracleConformance>>) => void): Promise<number> {
  const e = await buildExperiment(config);
  const before = tf.memory().numTensors;
  useEngine(e, { engine: 'in-process', shards: 2 });
  const r = await oracleConformance(() => e.oracle(), { theta: Float64Array.from([-3, -4]) }, 'distributed');
  report?.(r);
  await e.dispose();
  return tf.memory().numTensors - before;
}

describe('distributed oracle conformance', () => {
  it('3 images in 2 shards, jobs in-process', async () => {
    await useBackend('wasm');
    const left = await leftAfter((r) => {
      for (const c of r.checks) console.log(`${c.passed ? '✓' : '✗'} ${r.subject}: ${c.name}: ${c.error.toExponential(2)} ≤ ${c.tolerance}${c.detail ? ` (${c.detail})` : ''}`);
      assertConformance(r);
      expect(r.checks.map((c) => c.name)).toContain('subset + merge round trip');
    });
    // Each oracle's shard oracles are freed with it (its transport's runner): a second experiment leaves no more.
    expect(await leftAfter()).toBeLessThanOrEqual(Math.max(left, 0));
  }, 120_000);
});
