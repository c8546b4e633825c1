import { afterAll, describe, expect, it } from 'vitest';
import { tf } from '@bilevel/core';
import { ShardedOracle, type HypergradientOracle } from '@bilevel/oracles';
import { assertConformance, oracleConformance, type ConformanceReport } from '@bilevel/testing';
import { smallTvOracle } from './fixtures.js';

// The webgpu group: the oracle conformance suite (packages/testing/src/oracle.ts) on webgpu, in-process, on a subset,
// and sharded over 2 worker threads that each run webgpu (each worker loads Dawn and opens its own adapter and device;
// on one GPU those devices share it, their queues interleaved by the driver). Tiny TV problems (3–4 images 8×8).
const theta = Float64Array.from([-3, -4]);
const made: HypergradientOracle[] = [];
const factory = new URL('./tv-shard-factory.mjs', import.meta.url);

async function tv(count: number, size: number): Promise<HypergradientOracle> {
  const o = await smallTvOracle(count, size);
  made.push(o);
  return o;
}

function show(r: ConformanceReport): void {
  for (const c of r.checks) console.log(`${c.passed ? '✓' : '✗'} webgpu ${r.subject}: ${c.name}: ${c.error.toExponential(2)} ≤ ${c.tolerance}${c.detail ? ` (${c.detail})` : ''}`);
}

afterAll(() => {
  for (const o of made) tf.dispose([o.upper.targets, o.problem.measurement]);
});

describe('webgpu: oracle conformance', () => {
  it('in-process', async () => {
    const r = await oracleConformance(() => tv(3, 8), { theta }, 'in-process');
    show(r);
    await assertConformance(r);
  });

  it('a subset of an in-process oracle', async () => {
    const r = await oracleConformance(async () => (await tv(4, 8)).subset([3, 1, 2]), { theta }, 'subset');
    show(r);
    await assertConformance(r);
  });

  it('sharded over 2 workers, each with its own webgpu device', async () => {
    const make = async () => {
      const local = await smallTvOracle(3, 8);
      const curvature = (t: Float32Array) => local.problem.curvature(t);
      const o = await ShardedOracle.create({ factory, init: { count: 3, size: 8, seed: 0 }, size: 3, imageShape: [8, 8], curvature, workers: 2, shards: 2, backend: 'webgpu' });
      tf.dispose([local.upper.targets, local.problem.measurement]);
      await local.dispose();
      return o;
    };
    const r = await oracleConformance(make, { theta }, 'sharded');
    show(r);
    await assertConformance(r);
    expect(r.checks.length).toBe(6);
  });
});
