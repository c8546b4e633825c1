import { describe, expect, it } from 'vitest';
import { FixedAccuracyDescent, FIXED_ACCURACY_DEFAULTS } from '@bilevel/optimizers';
import { expectRecords, expectResumeExact, runSmall } from './helpers.js';

const opts = { ...FIXED_ACCURACY_DEFAULTS, epsilon: 1e-4, delta: 1e-4, step0: 0.1 };

describe('fixed-accuracy descent', () => {
  it('descends at every step on small TV denoising and stops with a reason', async () => {
    const { result, rows } = await runSmall(new FixedAccuracyDescent(opts), { maxIterations: 15 });
    expect(['max-iterations', 'accuracy-floor', 'converged']).toContain(result.stopReason);
    expect(rows.length).toBeGreaterThan(3);
    expectRecords(rows, { omega: false });
    for (let k = 1; k < rows.length; k++) expect(rows[k].upperLoss).toBeLessThan(rows[k - 1].upperLoss);
    expect(rows.every((r) => r.epsilon === 1e-4)).toBe(true);
  });

  it('resumes bit-for-bit from a checkpoint (−z and L-BFGS directions)', async () => {
    await expectResumeExact(() => new FixedAccuracyDescent(opts), 8, 3);
    await expectResumeExact(() => new FixedAccuracyDescent({ ...opts, metric: 'lbfgs' }), 8, 4, { theta0: Float64Array.from([-3, -4]) });
  });
});
