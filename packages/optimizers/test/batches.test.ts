import { describe, expect, it } from 'vitest';
import { batchFields, epochLimit, MinibatchSampler, nextBatch, onBatch } from '@bilevel/optimizers';
import { disposeOracle, reconstructionOf, smallTvOracle } from './helpers.js';

describe('minibatches', () => {
  it('MinibatchSampler visits every image once per epoch, in a seeded order, and resumes from its state', () => {
    const a = new MinibatchSampler(7, 3, 5);
    const epoch = [a.next(), a.next(), a.next()];
    expect(epoch.map((b) => b.indices.length)).toEqual([3, 3, 1]);
    expect(epoch.flatMap((b) => b.indices).sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(epoch.map((b) => b.epochEnd)).toEqual([false, false, true]);
    const next = a.next();
    expect(next.epoch).toBe(1);
    expect(new MinibatchSampler(7, 3, 5).permutation(1)).toEqual(a.permutation(1));
    expect(new MinibatchSampler(7, 3, 6).permutation(0)).not.toEqual(a.permutation(0));
    const b = new MinibatchSampler(7, 3, 5);
    b.restore(a.state);
    expect(b.next()).toEqual(a.next());
    expect(new MinibatchSampler(4, 2, 0, false).next().indices).toEqual([0, 1]);
    expect(() => b.restore({ ...a.state, seed: 9 })).toThrow(/other n \/ batchSize \/ seed/);
  });

  it('nextBatch and epochLimit work on plain sampler states', () => {
    const s0 = new MinibatchSampler(5, 2, 1).state;
    const { batch, sampler, batchesPerEpoch } = nextBatch(s0);
    expect(batchesPerEpoch).toBe(3);
    expect(batch.indices).toEqual(new MinibatchSampler(5, 2, 1).next().indices);
    expect(sampler.position).toBe(2);
    expect(s0.position).toBe(0);
    expect(epochLimit({ ...sampler, position: 5 }, 1)?.reason).toBe('max-iterations');
    expect(epochLimit({ ...sampler, position: 5 }, 0)).toBeUndefined();
    expect(epochLimit(sampler, 1)).toBeUndefined();
  });

  it('onBatch runs on a subset oracle and merges its warm starts and per-image work back', async () => {
    const full = await smallTvOracle(4, 16);
    const before = await reconstructionOf(full);
    const theta = Float64Array.from([-3, -4]);
    const batch = { indices: [2, 0], epoch: 0, batch: 0, epochEnd: false };
    const work = await onBatch(full, batch, 'per-image', async (sub) => {
      expect(sub.size).toBe(2);
      const ev = await sub.evaluate(theta, 1e-4);
      await sub.accept(ev);
      sub.release(ev);
      return { value: sub.counters.lowerIterations, keep: true };
    });
    const after = await reconstructionOf(full);
    const P = 16 * 16;
    const changed = (i: number) => after.slice(i * P, (i + 1) * P).some((v, k) => v !== before[i * P + k]);
    expect([0, 1, 2, 3].map(changed)).toEqual([true, false, true, false]);
    expect(full.counters.lowerIterations).toBeCloseTo(work / 2, 9);
    const fields = batchFields(full, batch);
    expect(fields).toMatchObject({ epoch: 1, batchSize: 2, rawLowerIterations: work });
    // keep: false writes nothing back (the work still counts).
    await onBatch(full, batch, 'raw', async (sub) => {
      const ev = await sub.evaluate(Float64Array.from([-1, -1]), 1e-2);
      sub.release(ev);
      return { value: undefined, keep: false };
    });
    expect(await reconstructionOf(full)).toEqual(after);
    expect(full.counters.lowerIterations).toBeGreaterThan(work / 2);
    await disposeOracle(full);
  });
});
