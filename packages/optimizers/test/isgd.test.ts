import { describe, expect, it } from 'vitest';
import { ADAM_DEFAULTS, Isgd, ISGD_DEFAULTS } from '@bilevel/optimizers';
import { expectRecords, expectResumeExact, runSmall, tensorCounts } from './helpers.js';

const sgd = { ...ISGD_DEFAULTS, batchSize: 2, step0: 1, stepSchedule: 'constant' as const };

describe('ISGD and Adam on minibatches', () => {
  it('follow the poly, constant and log schedules', () => {
    const o = new Isgd({ ...ISGD_DEFAULTS, step0: 0.5, stepPower: 0.5, epsilon0: 0.2, accuracyPower: 1 });
    expect(o.stepAt(3)).toBeCloseTo(0.25, 12);
    expect(o.accuracyAt(4)).toBeCloseTo(0.04, 12);
    expect(new Isgd({ ...ISGD_DEFAULTS, stepSchedule: 'constant' }).stepAt(10)).toBe(ISGD_DEFAULTS.step0);
    expect(new Isgd({ ...ISGD_DEFAULTS, accuracySchedule: 'log', epsilon0: 1 }).accuracyAt(2)).toBeCloseTo(0.5, 12);
  });

  it('ISGD reduces the loss and raises PSNR over epochs of seeded minibatches, then stops by itself', async () => {
    const { result, rows, before, after } = await runSmall(new Isgd({ ...sgd, relGradTol: 0.05 }), { maxIterations: 2000 }, { count: 4 });
    expect(['converged', 'accuracy-floor']).toContain(result.stopReason);
    expectRecords(rows, { omega: false });
    expect(rows.every((r) => Number.isNaN(r.omega))).toBe(true); // ISGD does not compute ω
    expect(rows.every((r) => r.batchSize === 2)).toBe(true);
    expect(rows.at(-1)!.epoch).toBeGreaterThan(2);
    expect(after).toBeGreaterThan(before + 3);
    // Work is charged per image: a 2-image batch of a 4-image set counts half.
    expect(rows.at(-1)!.lowerIterations).toBeCloseTo(0.5 * rows.at(-1)!.rawLowerIterations!, 6);
  });

  it('Adam reduces the loss and raises PSNR', async () => {
    const { rows, before, after } = await runSmall(new Isgd({ ...ADAM_DEFAULTS, batchSize: 2, step0: 0.3, stepSchedule: 'poly', stepPower: 0.5 }), { maxIterations: 60 }, { count: 4 });
    expect(rows.at(-1)!.upperLoss).toBeLessThan(0.5 * rows[0].upperLoss);
    expect(after).toBeGreaterThan(before + 3);
  });

  it('stop with max-iterations (iterations or epochs), budget, interrupted, converged and accuracy-floor', async () => {
    expect((await runSmall(new Isgd(sgd), { maxIterations: 3 })).result.stopReason).toBe('max-iterations');
    const epochs = await runSmall(new Isgd({ ...sgd, batchSize: 1, maxEpochs: 2 }), { maxIterations: 100 });
    expect(epochs.result.stopReason).toBe('max-iterations');
    expect(epochs.result.iterations).toBe(4);
    expect((await runSmall(new Isgd(sgd), { maxIterations: 1000, maxInnerIterations: 30 })).result.stopReason).toBe('budget');
    expect((await runSmall(new Isgd(sgd), { maxIterations: 1000 }, { shouldStop: () => true })).result.stopReason).toBe('interrupted');
    expect((await runSmall(new Isgd({ ...sgd, relGradTol: 2 }), { maxIterations: 1000 })).result.stopReason).toBe('converged');
    expect((await runSmall(new Isgd({ ...sgd, epsilon0: 1e-9, atFloor: 'stop' }), { maxIterations: 100 })).result.stopReason).toBe('accuracy-floor');
    expect((await runSmall(new Isgd({ ...ADAM_DEFAULTS, epsilon0: 1e-9, atFloor: 'stop' }), { maxIterations: 100 })).result.stopReason).toBe('accuracy-floor');
  });

  it('keeps tf.memory().numTensors flat across iterations', async () => {
    const { at5, atLast } = await tensorCounts(new Isgd({ ...sgd, batchSize: 1, relGradTol: 0 }), 30);
    expect(atLast).toBe(at5);
  });

  it('resume bit-for-bit from a checkpoint (sampler position, Adam moments, epoch sums)', async () => {
    await expectResumeExact(() => new Isgd({ ...sgd, batchSize: 1, relGradTol: 0 }), 7, 3, { count: 3 });
    await expectResumeExact(() => new Isgd({ ...ADAM_DEFAULTS, batchSize: 2, relGradTol: 0 }), 6, 3, { count: 3 });
  });
});
