import { beforeAll, describe, expect, it } from 'vitest';
import { Dfo, DFO_DEFAULTS, loadLinearAlgebra, symmetricEigen, trustRegionStep } from '@bilevel/optimizers';
import { expectRecords, expectResumeExact, runSmall, tensorCounts } from './helpers.js';

const m = (g: number[], H: number[][], s: number[]) => g.reduce((a, gi, i) => a + gi * s[i], 0) + 0.5 * s.reduce((a, si, i) => a + si * H[i].reduce((b, h, j) => b + h * s[j], 0), 0);

describe('derivative-free trust region', () => {
  beforeAll(loadLinearAlgebra);
  it('solves the trust-region subproblem (interior, boundary, indefinite and hard case)', () => {
    const e = symmetricEigen([[2, 1], [1, 3]]);
    expect(e.values.reduce((a, b) => a + b)).toBeCloseTo(5, 10);
    expect(e.values[0] * e.values[1]).toBeCloseTo(5, 10);
    const inside = trustRegionStep([1, 1], [[2, 0], [0, 4]], 10);
    expect(inside[0]).toBeCloseTo(-0.5, 8);
    expect(inside[1]).toBeCloseTo(-0.25, 8);
    const boundary = trustRegionStep([1, 1], [[2, 0], [0, 4]], 0.1);
    expect(Math.hypot(...boundary)).toBeCloseTo(0.1, 6);
    const indefinite = trustRegionStep([1, 0.5], [[-1, 0], [0, 2]], 1);
    expect(Math.hypot(...indefinite)).toBeCloseTo(1, 6);
    // No feasible step does better than the solution (checked on a grid).
    for (let a = 0; a < 64; a++) {
      const s = [Math.cos((2 * Math.PI * a) / 64), Math.sin((2 * Math.PI * a) / 64)];
      expect(m([1, 0.5], [[-1, 0], [0, 2]], indefinite)).toBeLessThanOrEqual(m([1, 0.5], [[-1, 0], [0, 2]], s) + 1e-9);
    }
    const hard = trustRegionStep([0, 1], [[-2, 0], [0, 1]], 2);
    expect(Math.hypot(...hard)).toBeCloseTo(2, 6);
    expect(Math.abs(hard[0])).toBeGreaterThan(1);
  });

  it('reduces the upper loss and raises PSNR on small TV denoising, stopping by itself', async () => {
    const { result, rows, before, after } = await runSmall(new Dfo(), { maxIterations: 300 });
    expect(['converged', 'accuracy-floor']).toContain(result.stopReason);
    expectRecords(rows);
    // Accepted centers decrease f up to the certified errors of the two values.
    for (let k = 1; k < rows.length; k++) expect(rows[k].upperLoss).toBeLessThanOrEqual(rows[k - 1].upperLoss + rows[k - 1].fErrorBound! + rows[k].fErrorBound!);
    expect(rows.at(-1)!.upperLoss).toBeLessThan(0.5 * rows[0].upperLoss);
    expect(after).toBeGreaterThan(before + 3);
    expect(rows.every((r) => r.cgIterations === 0)).toBe(true);
  });

  it('stops with max-iterations, budget, interrupted, converged and accuracy-floor', async () => {
    expect((await runSmall(new Dfo(), { maxIterations: 2 })).result.stopReason).toBe('max-iterations');
    expect((await runSmall(new Dfo(), { maxIterations: 1000, maxInnerIterations: 40 })).result.stopReason).toBe('budget');
    expect((await runSmall(new Dfo(), { maxIterations: 1000 }, { shouldStop: () => true })).result.stopReason).toBe('interrupted');
    expect((await runSmall(new Dfo({ ...DFO_DEFAULTS, radiusMin: 0.9 }), { maxIterations: 1000 })).result.stopReason).toBe('converged');
    expect((await runSmall(new Dfo({ ...DFO_DEFAULTS, epsilon0: 1e-9, atFloor: 'stop' }), { maxIterations: 100 })).result.stopReason).toBe('accuracy-floor');
  });

  it('keeps tf.memory().numTensors flat across iterations', async () => {
    const { result, at5, atLast } = await tensorCounts(new Dfo({ ...DFO_DEFAULTS, radiusMin: 1e-9 }), 12);
    if (result.iterations >= 12) expect(atLast).toBe(at5);
    else expect(result.stopReason).toBe('accuracy-floor');
  });

  it('resumes bit-for-bit from a checkpoint (the first step samples θ₀ ± Δ₀eᵢ)', async () => {
    await expectResumeExact(() => new Dfo(), 8, 3);
    await expectResumeExact(() => new Dfo(), 4, 1);
  });
});
