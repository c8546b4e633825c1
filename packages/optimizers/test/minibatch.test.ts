import { describe, expect, it } from 'vitest';
import { BatchedOracle, HypergradientOracle, LowerLevelProblem, MinibatchSampler, tf, type ImageBatch } from '@bilevel/core';
import { smallTvOracle } from '../../core/test/fixtures.js';

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
  });

  it('a batch oracle gives the hypergradient of its images and writes warm starts and work back', () => {
    const full = smallTvOracle(4, 16);
    const batched = new BatchedOracle(full);
    const theta = Float64Array.from([-3, -4]);
    const before = Float32Array.from(full.current.dataSync());
    const h = batched.open([2, 0]);
    const hg = h.oracle.hypergradient(theta, 1e-4, 1e-4);
    // The same images as a stand-alone problem.
    const idx = tf.tensor1d([2, 0], 'int32');
    const y = tf.gather(full.problem.measurement, idx), t = tf.gather(full.upper.targets, idx) as ImageBatch;
    const p = full.problem;
    const alone = new HypergradientOracle(new LowerLevelProblem(p.operator, p.fidelity, p.regularizer, y, p.gamma), t, full.lowerSolver, full.linearSolver, y as ImageBatch);
    const ref = alone.hypergradient(theta, 1e-4, 1e-4);
    expect(Math.abs(hg.value - ref.value)).toBeLessThan(1e-4 * ref.value);
    for (let k = 0; k < 2; k++) expect(Math.abs(hg.grad[k] - ref.grad[k])).toBeLessThan(2e-3 * Math.hypot(...ref.grad));
    h.oracle.accept(hg.evaluation);
    h.oracle.release(hg.evaluation);
    const work = h.oracle.counters.lowerIterations;
    batched.commit(h);
    const after = full.current.dataSync();
    const P = 16 * 16;
    const changed = (i: number) => after.slice(i * P, (i + 1) * P).some((v, k) => v !== before[i * P + k]);
    expect([0, 1, 2, 3].map(changed)).toEqual([true, false, true, false]);
    expect(full.counters.lowerIterations).toBeCloseTo(work / 2, 9);
    expect(batched.rawCounters.lowerIterations).toBe(work);
    // A second batch over the same images starts from the committed warm start: fewer iterations.
    const h2 = batched.open([0, 2]);
    const ev = h2.oracle.evaluate(theta, 1e-4);
    expect(ev.lower.iterations).toBeLessThan(work);
    h2.oracle.release(ev);
    batched.discard(h2);
    alone.release(ref.evaluation);
    alone.dispose();
    full.dispose();
    tf.dispose([idx, y, t, full.upper.targets, full.problem.measurement]);
  });
});
