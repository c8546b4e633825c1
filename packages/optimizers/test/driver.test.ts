import { describe, expect, it } from 'vitest';
import { runOptimizer, type IterationRecord, type OuterOptimizer, type RunCheckpoint, type StepResult } from '@bilevel/core';
import { disposeOracle, smallTvOracle, theta0 } from './helpers.js';

/** θ ← θ − 0.01·1 each step; at step `nanAt` θ[1] becomes NaN (a diverged update). */
function stepper(nanAt = Infinity): OuterOptimizer<{ theta: number[]; k: number }> {
  return {
    name: 'stepper',
    init: (t) => ({ theta: Array.from(t), k: 0 }),
    async step(_oracle, s): Promise<StepResult<{ theta: number[]; k: number }>> {
      const k = s.k + 1;
      const theta = s.theta.map((t, i) => (k === nanAt && i === 1 ? NaN : t - 0.01));
      return { state: { theta, k }, record: { upperLoss: 1 / k, epsilon: 0.1, delta: 0.1, omega: 0, gradNorm: 1, step: 0.01, backtracks: 0 } };
    },
    theta: (s) => Float64Array.from(s.theta),
  };
}

describe('the driver: numerical faults and time over resumes', () => {
  it('a NaN in θ stops with numerical-error naming the iteration and the entry; θ and the last checkpoint are the last good ones', async () => {
    const oracle = await smallTvOracle(1, 8);
    const checkpoints: RunCheckpoint[] = [];
    const rows: IterationRecord[] = [];
    const r = await runOptimizer(stepper(4), oracle, theta0, {
      budget: { maxIterations: 10 }, checkpointEvery: 1, onCheckpoint: (c) => void checkpoints.push(c), onIteration: (row) => void rows.push(row),
    });
    expect(r.stopReason).toBe('numerical-error');
    expect(r.message).toMatch(/iteration 4: θ\[1\] is NaN; θ and the checkpoint are those of iteration 3/);
    expect(r.iterations).toBe(3);
    expect(Array.from(r.theta).every(Number.isFinite)).toBe(true);
    expect(rows.map((x) => x.iter)).toEqual([1, 2, 3]);
    expect(checkpoints.at(-1)!.iterations).toBe(3);
    await disposeOracle(oracle);
  });

  it('a resumed run continues the seconds of its checkpoint, in a new segment whose first row says when it started', async () => {
    const oracle = await smallTvOracle(1, 8);
    const checkpoints: RunCheckpoint[] = [];
    const first: IterationRecord[] = [];
    await runOptimizer(stepper(), oracle, theta0, { budget: { maxIterations: 3 }, checkpointEvery: 1, onCheckpoint: (c) => void checkpoints.push(c), onIteration: (row) => void first.push(row) });
    const at = checkpoints[1];
    expect(at.iterations).toBe(2);
    expect(at.seconds).toBe(first[1].seconds);
    await new Promise((r) => setTimeout(r, 30));
    const t0 = Date.now();
    const second: IterationRecord[] = [];
    await runOptimizer(stepper(), oracle, theta0, { budget: { maxIterations: 5 }, resume: at, onIteration: (row) => void second.push(row) });
    expect(second.map((x) => x.iter)).toEqual([3, 4, 5]);
    expect(first.every((x) => x.segment === 1) && second.every((x) => x.segment === 2)).toBe(true);
    expect(first[0].segmentStart).toBeLessThanOrEqual(t0);
    expect(second[0].segmentStart).toBeGreaterThanOrEqual(t0);
    expect(second.slice(1).every((x) => x.segmentStart === undefined)).toBe(true);
    // Monotone over both segments: the resumed rows start from the checkpoint's seconds (the wait is not counted).
    const seconds = [...first.slice(0, 2), ...second].map((x) => x.seconds);
    expect(seconds.every((s, i) => i === 0 || s >= seconds[i - 1])).toBe(true);
    expect(second[0].seconds - at.seconds!).toBeLessThan(0.03);
    await disposeOracle(oracle);
  });
});
