import { describe, expect, it } from 'vitest';
import { Maid, MAID_DEFAULTS, type MaidOptions } from '@bilevel/optimizers';
import { runSmall } from './helpers.js';

/** MAID on the 2-image synthetic TV problem at `size`×`size` for at most `iterations`. */
async function run(options: Partial<MaidOptions>, size: number, iterations: number) {
  return runSmall(new Maid({ ...MAID_DEFAULTS, ...options }), { maxIterations: iterations }, { size });
}

describe('MAID without tuning: derived starting values, per-element tolerances', () => {
  it('derives ε₀, δ₀ and α₀ at θ₀ (reported in the first row), descends with certified steps and stops by itself', async () => {
    const { result, rows, before, after } = await run({}, 24, 500);
    const first = rows[0];
    for (const field of ['naiveResidual', 'naiveError', 'calibrationEpsilon', 'calibrationRatio', 'epsilon0', 'delta0', 'step0']) {
      expect(first[field], field).toBeGreaterThan(0);
    }
    // ε₀ is below the calibration accuracy, itself a tenth of min(e₀, r₀); δ₀ follows ε₀.
    expect(first.epsilon0!).toBeLessThanOrEqual(first.calibrationEpsilon! * (1 + 1e-12));
    expect(first.calibrationEpsilon!).toBeLessThanOrEqual(0.1 * Math.min(first.naiveResidual!, first.naiveError!) * (1 + 1e-12));
    expect(first.delta0).toBe(first.epsilon0);
    expect(rows.slice(1).every((r) => r.epsilon0 === undefined)).toBe(true);
    expect(['converged', 'accuracy-floor']).toContain(result.stopReason);
    for (let k = 1; k < rows.length; k++) expect(rows[k].upperLoss).toBeLessThan(rows[k - 1].upperLoss + 1e-6);
    expect(after).toBeGreaterThan(before + 3);
  });

  it('explicit values are honoured; only the missing ones are derived', async () => {
    const { rows } = await run({ epsilon0: 2e-3, step0: 0.05 }, 24, 3);
    expect(rows[0].epsilon0).toBe(2e-3);
    expect(rows[0].step0).toBe(0.05);
    expect(rows[0].delta0).toBeLessThanOrEqual(2e-3);
  });

  it('the same config at 48×48 and at 96×96 reaches the same certified accuracy per element', async () => {
    const at = async (size: number) => (await run({}, size, 6)).rows;
    const [small, large] = [await at(48), await at(96)];
    console.log(`derived ε₀ per element: 48×48 ${small[0].epsilon0!.toExponential(3)}, 96×96 ${large[0].epsilon0!.toExponential(3)}; ` +
      `certified per element after 6 iterations ${small.at(-1)!.lowerError!.toExponential(3)} and ${large.at(-1)!.lowerError!.toExponential(3)}`);
    // The naive reconstruction's RMS error is the noise level at both sizes; the derived accuracies agree per element
    // (Euclidean tolerances would differ by √4 = 2 between the sizes).
    expect(large[0].naiveError! / small[0].naiveError!).toBeCloseTo(1, 1);
    for (const k of [0, 5]) {
      const ratio = large[k].lowerError! / small[k].lowerError!;
      expect(ratio, `iteration ${k + 1}`).toBeGreaterThan(0.6);
      expect(ratio, `iteration ${k + 1}`).toBeLessThan(1.6);
      expect(large[k].lowerError!).toBeLessThanOrEqual(large[k].epsilon);
      expect(small[k].lowerError!).toBeLessThanOrEqual(small[k].epsilon);
    }
    const e0 = large[0].epsilon0! / small[0].epsilon0!;
    expect(e0).toBeGreaterThan(0.6);
    expect(e0).toBeLessThan(1.6);
  }, 120_000);
});
