import { afterAll, describe, expect, it } from 'vitest';
import { tf, type ImageBatch, type Oracle } from '@bilevel/core';
import { addGaussianNoise, syntheticImage, toBatch } from '@bilevel/datasets';
import { ConvOperatorFamily, PiggybackOracle, type HypergradientOracle } from '@bilevel/oracles';
import { assertConformance, oracleConformance, type ConformanceReport } from '@bilevel/testing';
import { smallTvOracle } from './fixtures.js';
import { shardedTv } from './sharded-fixture.js';

const theta = Float64Array.from([-3, -4]);
const made: HypergradientOracle[] = [];

/** A fresh small TV oracle whose data tensors are freed after the suite. */
async function tv(count: number, size: number): Promise<HypergradientOracle> {
  const o = await smallTvOracle(count, size);
  made.push(o);
  return o;
}

function show(r: ConformanceReport): void {
  for (const c of r.checks) console.log(`${c.passed ? '✓' : '✗'} ${r.subject}: ${c.name}: ${c.error.toExponential(2)} ≤ ${c.tolerance}${c.detail ? ` (${c.detail})` : ''}`);
}

afterAll(() => {
  for (const o of made) tf.dispose([o.upper.targets, o.problem.measurement]);
});

describe('oracle conformance', () => {
  it('in-process', async () => {
    const r = await oracleConformance(() => tv(3, 12), { theta }, 'in-process');
    show(r);
    assertConformance(r);
  });

  it('a subset of an in-process oracle', async () => {
    const r = await oracleConformance(async () => (await tv(4, 12)).subset([3, 1, 2]), { theta }, 'subset');
    show(r);
    assertConformance(r);
  });

  it('sharded over 2 workers', async () => {
    const r = await oracleConformance(() => shardedTv(2, 3, 12, 2), { theta }, 'sharded');
    show(r);
    assertConformance(r);
  }, 60_000);

  it('piggyback (standard discretization)', async () => {
    const clean = toBatch([0, 1, 2].map((i) => syntheticImage(12, 12, i)));
    const noisy = (await addGaussianNoise(clean, { type: 'gaussian', sigma: 0.1 }, 100)) as ImageBatch;
    const make = async (): Promise<Oracle> => new PiggybackOracle(ConvOperatorFamily.forwardDifferences(), noisy, clean, { huber: 1e-2 });
    const r = await oracleConformance(make, { theta: Float64Array.from([Math.log(0.05)]), fineEpsilon: 1e-5, fineDelta: 1e-6 }, 'piggyback');
    show(r);
    tf.dispose([clean, noisy]);
    assertConformance(r);
    expect(r.passed).toBe(true);
  });
});
