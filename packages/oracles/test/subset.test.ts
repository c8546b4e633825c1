import { describe, expect, it } from 'vitest';
import { LowerLevelProblem, readTensors, tf, type ImageBatch } from '@bilevel/core';
import { HypergradientOracle } from '@bilevel/oracles';
import { smallTvOracle } from './fixtures.js';

describe('subset / merge of the in-process oracle', () => {
  it('a subset gives the hypergradient of its images and merge writes warm starts and work back', async () => {
    const full = await smallTvOracle(4, 16);
    const theta = Float64Array.from([-3, -4]);
    const [before] = await readTensors(await full.reconstruction());
    const sub = await full.subset([2, 0]);
    expect(sub.size).toBe(2);
    const hg = await sub.hypergradient(theta, 1e-4, 1e-4);
    // The same images as a stand-alone problem.
    const idx = tf.tensor1d([2, 0], 'int32');
    const y = tf.gather(full.problem.measurement, idx), t = tf.gather(full.upper.targets, idx) as ImageBatch;
    const p = full.problem;
    const alone = new HypergradientOracle(new LowerLevelProblem(p.operator, p.fidelity, p.regularizer, y, p.gamma), t, full.lowerSolver, full.linearSolver, y as ImageBatch);
    const ref = await alone.hypergradient(theta, 1e-4, 1e-4);
    expect(Math.abs(hg.value - ref.value)).toBeLessThan(1e-4 * ref.value);
    for (let k = 0; k < 2; k++) expect(Math.abs(hg.grad[k] - ref.grad[k])).toBeLessThan(2e-3 * Math.hypot(...ref.grad));
    await sub.accept(hg.evaluation);
    sub.release(hg.evaluation);
    const work = sub.counters.lowerIterations;
    await full.merge(sub, { keep: true, costScaling: 'per-image' });
    const [after] = await readTensors(await full.reconstruction());
    const P = 16 * 16;
    const changed = (i: number) => after.slice(i * P, (i + 1) * P).some((v, k) => v !== before[i * P + k]);
    expect([0, 1, 2, 3].map(changed)).toEqual([true, false, true, false]);
    expect(full.counters.lowerIterations).toBeCloseTo(work / 2, 9);
    expect(full.rawCounters.lowerIterations).toBe(work);
    // A second subset over the same images starts from the merged warm start: fewer iterations.
    const sub2 = await full.subset([0, 2]);
    const ev = await sub2.evaluate(theta, 1e-4);
    expect(ev.lower.iterations).toBeLessThan(work);
    sub2.release(ev);
    await full.merge(sub2, { keep: false, costScaling: 'raw' });
    expect(full.rawCounters.lowerIterations).toBe(work + ev.lower.iterations);
    await expect(full.merge(sub2, { keep: false, costScaling: 'raw' })).rejects.toThrow(/not an open subset/);
    alone.release(ref.evaluation);
    await alone.dispose();
    await full.dispose();
    tf.dispose([idx, y, t, full.upper.targets, full.problem.measurement]);
  });

  it('saveState / restoreState keep which images have a q warm start, the raw counters and the accepted evaluation', async () => {
    const full = await smallTvOracle(3, 12);
    const theta = Float64Array.from([-3, -4]);
    const sub = await full.subset([1]);
    const hg = await sub.hypergradient(theta, 1e-3, 1e-3);
    await sub.accept(hg.evaluation);
    await full.merge(sub, { keep: true, costScaling: 'per-image' });
    const state = await full.saveState();
    expect(state.extra?.qImages).toEqual([0, 1, 0]);
    const copy = await smallTvOracle(3, 12);
    await copy.restoreState(state);
    const [a, b] = [await full.subset([0, 1]), await copy.subset([0, 1])];
    const [ha, hb] = [await a.hypergradient(theta, 1e-3, 1e-3), await b.hypergradient(theta, 1e-3, 1e-3)];
    expect(Array.from(hb.grad)).toEqual(Array.from(ha.grad));
    expect(hb.stats.cgIterations).toBe(ha.stats.cgIterations);
    await full.merge(a, { keep: false, costScaling: 'raw' });
    await copy.merge(b, { keep: false, costScaling: 'raw' });
    expect(copy.rawCounters).toEqual(full.rawCounters);
    for (const o of [full, copy]) {
      tf.dispose([o.upper.targets, o.problem.measurement]);
      await o.dispose();
    }
  });
});
