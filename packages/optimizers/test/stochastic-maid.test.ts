import { describe, expect, it } from 'vitest';
import { StochasticMaid, STOCHASTIC_MAID_DEFAULTS } from '@bilevel/optimizers';
import { expectRecords, expectResumeExact, runSmall, tensorCounts } from './helpers.js';

// A small explicit α₀ (no first-step expansion) so that many minibatch steps are taken; ε₀, δ₀ are derived.
const opts = { ...STOCHASTIC_MAID_DEFAULTS, batchSize: 2, step0: 0.01 };

describe('stochastic MAID', () => {
  it('takes certified descent steps on minibatches, raises PSNR and stops by itself', async () => {
    const { result, rows, before, after } = await runSmall(new StochasticMaid(opts), { maxIterations: 600 }, { count: 4 });
    expect(['converged', 'accuracy-floor']).toContain(result.stopReason);
    expectRecords(rows);
    expect(rows.filter((r) => r.accepted === 1).length).toBeGreaterThan(10);
    expect(after).toBeGreaterThan(before + 3);
    // ε, δ and the step are carried across batches: the step grows past its initial value.
    expect(rows[0].step0).toBeGreaterThan(0);
    expect(Math.max(...rows.map((r) => r.step))).toBeGreaterThan(2 * rows[0].step0!);
  });

  it('stops with max-iterations, budget, interrupted, converged and accuracy-floor', async () => {
    expect((await runSmall(new StochasticMaid(opts), { maxIterations: 3 })).result.stopReason).toBe('max-iterations');
    expect((await runSmall(new StochasticMaid({ ...opts, maxEpochs: 1 }), { maxIterations: 100 })).result.stopReason).toBe('max-iterations');
    expect((await runSmall(new StochasticMaid(opts), { maxIterations: 1000, maxInnerIterations: 30 })).result.stopReason).toBe('budget');
    expect((await runSmall(new StochasticMaid(opts), { maxIterations: 1000 }, { shouldStop: () => true })).result.stopReason).toBe('interrupted');
    expect((await runSmall(new StochasticMaid({ ...opts, relGradTol: 2 }), { maxIterations: 1000 })).result.stopReason).toBe('converged');
    const floor = await runSmall(new StochasticMaid({ ...opts, epsilon0: 1e-9, delta0: 1e-9, atFloor: 'stop' }), { maxIterations: 100 });
    expect(floor.result.stopReason).toBe('accuracy-floor');
    expect(floor.rows.every((r) => r.accepted === 0)).toBe(true);
  });

  it('keeps tf.memory().numTensors flat across iterations', async () => {
    const { at5, atLast } = await tensorCounts(new StochasticMaid({ ...opts, batchSize: 1, stepGrow: 1, relGradTol: 0, noiseRatio: 0 }), 30);
    expect(atLast).toBe(at5);
  });

  it('resumes bit-for-bit from a checkpoint (MAID state, sampler, epoch gradients)', async () => {
    await expectResumeExact(() => new StochasticMaid({ ...opts, batchSize: 1 }), 8, 3, { count: 3 });
    await expectResumeExact(() => new StochasticMaid({ ...opts, batchSize: 1, valueBound: 'adjoint' }), 6, 2, { count: 3 });
  });
});
