import { describe, expect, it } from 'vitest';
import { Hoag, HOAG_DEFAULTS } from '@bilevel/optimizers';
import { expectRecords, expectResumeExact, runSmall, tensorCounts } from './helpers.js';

describe('HOAG', () => {
  it('follows the geometric, quadratic, cubic and custom schedules', () => {
    const e = (schedule: 'geometric' | 'quadratic' | 'cubic' | 'custom', k: number) => new Hoag({ ...HOAG_DEFAULTS, schedule, epsilons: [0.3, 0.2, 0.1] }).scheduled(k);
    const e0 = HOAG_DEFAULTS.epsilon0;
    expect(e('geometric', 1)).toBeCloseTo(e0, 15);
    expect(e('geometric', 3)).toBeCloseTo(e0 * 0.81, 15);
    expect(e('quadratic', 4)).toBeCloseTo(e0 / 16, 15);
    expect(e('cubic', 2)).toBeCloseTo(e0 / 8, 15);
    expect([1, 2, 3, 9].map((k) => e('custom', k))).toEqual([0.3, 0.2, 0.1, 0.1]);
  });

  it('reduces the upper loss and raises PSNR on small TV denoising, stopping by itself', async () => {
    const { result, rows, before, after } = await runSmall(new Hoag({ ...HOAG_DEFAULTS, schedule: 'quadratic', relGradTol: 1e-3 }), { maxIterations: 400 });
    expect(['converged', 'accuracy-floor']).toContain(result.stopReason);
    expect(result.message.length).toBeGreaterThan(10);
    expect(rows.length).toBe(result.iterations);
    expectRecords(rows, { omega: false });
    expect(rows.at(-1)!.upperLoss).toBeLessThan(0.5 * rows[0].upperLoss);
    expect(after).toBeGreaterThan(before + 3);
  });

  it('stops with max-iterations, budget, interrupted, converged and accuracy-floor', async () => {
    expect((await runSmall(new Hoag(), { maxIterations: 3 })).result.stopReason).toBe('max-iterations');
    const budget = await runSmall(new Hoag(), { maxIterations: 1000, maxInnerIterations: 40 });
    expect(budget.result.stopReason).toBe('budget');
    // Away from the float32 floor HOAG does not use ω, so it spends nothing on probing ω's constants.
    expect(budget.counters.probeWork).toBe(0);
    expect(budget.rows.every((r) => Number.isNaN(r.omega))).toBe(true);
    expect((await runSmall(new Hoag(), { maxIterations: 1000 }, { shouldStop: () => true })).result.stopReason).toBe('interrupted');
    expect((await runSmall(new Hoag({ ...HOAG_DEFAULTS, relGradTol: 0.9 }), { maxIterations: 1000 })).result.stopReason).toBe('converged');
    const floor = await runSmall(new Hoag({ ...HOAG_DEFAULTS, epsilon0: 1e-9, delta0: 1e-9, atFloor: 'stop' }), { maxIterations: 100 });
    expect(floor.result.stopReason).toBe('accuracy-floor');
    expect(floor.result.iterations).toBe(0);
  });

  it('keeps tf.memory().numTensors flat across iterations', async () => {
    const { at5, atLast } = await tensorCounts(new Hoag({ ...HOAG_DEFAULTS, relGradTol: 0 }), 25);
    expect(atLast).toBe(at5);
  });

  it('resumes bit-for-bit from a checkpoint', async () => {
    await expectResumeExact(() => new Hoag({ ...HOAG_DEFAULTS, relGradTol: 0 }), 12, 5);
  });
});
