import { describe, expect, it } from 'vitest';
import { readScalars, tf, type ImageBatch, type IterationRecord } from '@bilevel/core';
import { addGaussianNoise, syntheticImage, toBatch } from '@bilevel/datasets';
import { ConvOperatorFamily, PiggybackOracle } from '@bilevel/oracles';
import { piggybackPsnr, runPiggyback, type PiggybackMethod } from '@bilevel/optimizers';

async function pair(count = 2, size = 12, seed = 0) {
  const clean = toBatch(Array.from({ length: count }, (_, i) => syntheticImage(size, size, seed + i)));
  const noisy = (await addGaussianNoise(clean, { type: 'gaussian', sigma: 0.1 }, seed + 100)) as ImageBatch;
  return { clean, noisy };
}
const inner = async (a: tf.Tensor, b: tf.Tensor) => (await readScalars(tf.tidy(() => tf.sum(tf.mul(a, b)))))[0];
/** A deterministic unit direction. */
const direction = (n: number) => {
  const v = Float64Array.from({ length: n }, (_, k) => Math.sin(12.9898 * (k + 1)) * 0.5 + Math.cos(3.7 * k) * 0.5);
  const s = Math.hypot(...v);
  return v.map((x) => x / s);
};
const learned = () => new ConvOperatorFamily('learned', 3, 2, undefined, 0.08);

describe('inexact piggyback', () => {
  it('K_θ and K_θᵀ are adjoint, and ‖K‖ bounds the operator', async () => {
    // Windows 2 (padding 0 | 1), 3 (1 | 1), 4 (1 | 2) and 5 (2 | 2).
    const wider = (s: number) => new ConvOperatorFamily('learned', s, 2, undefined, 0.3);
    for (const [family, theta] of [
      [ConvOperatorFamily.forwardDifferences(), Float64Array.from([-2])], [learned(), learned().initialLearnedTheta(2, 3, 0.2)],
      [wider(4), wider(4).initialLearnedTheta(2, 4, 0.2)], [wider(5), wider(5).initialLearnedTheta(2, 5, 0.2, 'diverse')],
    ] as const) {
      const K = await family.bind(theta);
      const shape: [number, number, number, number] = [2, 11, 13, 1];
      const x = tf.randomNormal(shape, 0, 1, 'float32', 1) as ImageBatch;
      const Kx = K.apply(x);
      const y = tf.randomNormal(Kx.shape, 0, 1, 'float32', 2) as tf.Tensor4D;
      const Kty = K.adjoint(y);
      const lhs = await inner(Kx, y), rhs = await inner(x, Kty);
      expect(Math.abs(lhs - rhs)).toBeLessThan(1e-4 * Math.max(1, Math.abs(lhs)));
      expect(K.norm).toBeGreaterThanOrEqual((await K.powerNorm(20, 200)) * 0.999);
      tf.dispose([x, Kx, y, Kty]);
      K.dispose();
    }
  });

  for (const [name, make] of [
    ['learned 3×3 filters', () => ({ family: learned(), theta: learned().initialLearnedTheta(1, 1, 0.2) })],
    ['scaled forward differences', () => ({ family: ConvOperatorFamily.forwardDifferences(), theta: Float64Array.from([-2.5]) })],
  ] as const) {
    it(`the hypergradient y⊗X + Y⊗x matches central finite differences (${name})`, async () => {
      const { clean, noisy } = await pair();
      const { family, theta } = make();
      // ε_H = 3·10⁻²: the Huber kinks stay smooth on the scale of h, and the float32 floor of the solves well below h·f'.
      const options = { huber: 3e-2 };
      const oracle = new PiggybackOracle(family, noisy, clean, options);
      const hg = await oracle.hypergradient(theta, 1e-5, 1e-5);
      expect(hg.errorBound).toBeGreaterThan(0);
      const v = direction(theta.length);
      const analytic = hg.grad.reduce((s, g, k) => s + g * v[k], 0);
      const f = async (h: number) => {
        const o = new PiggybackOracle(family, noisy, clean, options);
        const ev = await o.evaluate(theta.map((t, k) => t + h * v[k]), 1e-6);
        const value = ev.value;
        o.release(ev);
        await o.dispose();
        return value;
      };
      const h = 3e-3;
      const fd = ((await f(h)) - (await f(-h))) / (2 * h);
      console.log(`piggyback FD (${name}): analytic ${analytic.toExponential(5)}, central difference ${fd.toExponential(5)}`);
      expect(Math.abs(fd - analytic)).toBeLessThan(1e-2 * Math.abs(analytic) + 1e-5);
      oracle.release(hg.evaluation);
      await oracle.dispose();
      tf.dispose([clean, noisy]);
    });
  }

  it('evaluate reports the float32 floor only near u κ ‖x‖/4: a stall far above it is a slow PDHG phase and iteration goes on', async () => {
    const { clean, noisy } = await pair(2, 16, 7);
    const family = new ConvOperatorFamily('learned', 3, 2, undefined, 2);
    const theta = family.initialLearnedTheta(1, 1, 0.2);
    for (const stallWindow of [0, 400]) {
      // stallWindow 0: every check without a 1 % better certificate is a stall (the early plateaus of PDHG included).
      const oracle = new PiggybackOracle(family, noisy, clean, { huber: 1e-3, stallWindow });
      const ev = await oracle.evaluate(theta, 1e-2);
      const floor = await oracle.accuracyFloor(theta);
      if (ev.lower.stop === 'float32-floor') expect(ev.lower.certifiedError).toBeLessThanOrEqual(100 * floor * 1.01);
      else expect(ev.lower.certifiedError).toBeLessThanOrEqual(1e-2);
      if (stallWindow === 400) expect(ev.lower.stop).toBe('certified');
      oracle.release(ev);
      await oracle.dispose();
    }
    tf.dispose([clean, noisy]);
  });

  it('an adjoint stall limits δ, not ε: the accuracy floor MAID clamps ε to stays at the primal level', async () => {
    const { clean, noisy } = await pair(2, 16, 9);
    const family = learned();
    const theta = family.initialLearnedTheta(1, 1, 0.2);
    const oracle = new PiggybackOracle(family, noisy, clean, { huber: 1e-3, stallWindow: 0 });
    const before = await oracle.accuracyFloor(theta);
    // δ = 10⁻¹² cannot be certified in float32: the joint iteration stalls on the adjoint certificate.
    const hg = await oracle.hypergradient(theta, 1e-2, 1e-12);
    expect(hg.stats.cgResidual).toBeGreaterThan(1e-12);
    expect(await oracle.accuracyFloor(theta)).toBeCloseTo(before, 12);
    oracle.release(hg.evaluation);
    await oracle.dispose();
    tf.dispose([clean, noisy]);
  });

  const run = async (method: PiggybackMethod, budget: { maxIterations: number; maxInnerIterations?: number }, shouldStop?: () => boolean) => {
    const { clean, noisy } = await pair(2, 16, 3);
    const family = ConvOperatorFamily.forwardDifferences();
    const oracle = new PiggybackOracle(family, noisy, clean, { huber: 1e-2 });
    const rows: IterationRecord[] = [];
    const counts: number[] = [];
    const r = await runPiggyback(oracle, Float64Array.from([-4]), method, { budget, shouldStop, onIteration: (row) => void (rows.push({ ...row }), counts.push(tf.memory().numTensors)) });
    await oracle.dispose();
    tf.dispose([clean, noisy]);
    return { r, rows, counts };
  };

  it("evaluate(θ, ε, from) warm-starts PDHG from from's (x, y): a re-solve at finer ε costs less than from the accepted iterate", async () => {
    const { clean, noisy } = await pair(2, 16, 3);
    const oracle = new PiggybackOracle(ConvOperatorFamily.forwardDifferences(), noisy, clean, { huber: 1e-2 });
    const theta = Float64Array.from([-4]);
    const coarse = await oracle.evaluate(theta, 1e-2);
    const fromAccepted = await oracle.evaluate(theta, 1e-4);
    const fromCoarse = await oracle.evaluate(theta, 1e-4, coarse);
    expect(fromCoarse.lower.certifiedError).toBeLessThanOrEqual(1e-4);
    expect(fromCoarse.lower.iterations).toBeLessThan(fromAccepted.lower.iterations);
    for (const ev of [coarse, fromAccepted, fromCoarse]) oracle.release(ev);
    await oracle.dispose();
    tf.dispose([clean, noisy]);
  });

  it('adaptive (MAID) piggyback decreases the loss at every step and stops by itself; tensors stay flat', async () => {
    const { r, rows, counts } = await run({ kind: 'adaptive', options: { step0: 0.05, relGradTol: 0.05 } }, { maxIterations: 200 });
    expect(['converged', 'accuracy-floor']).toContain(r.stopReason);
    for (let k = 1; k < rows.length; k++) expect(rows[k].upperLoss).toBeLessThan(rows[k - 1].upperLoss + 1e-6);
    expect(rows.at(-1)!.upperLoss).toBeLessThan(0.6 * rows[0].upperLoss);
    expect(rows.length).toBeGreaterThan(5);
    expect(counts.at(-1)).toBe(counts[4]);
  });

  it('adaptive and fixed accuracy stop with max-iterations, budget, interrupted, converged and accuracy-floor', async () => {
    for (const kind of ['adaptive', 'fixed'] as const) {
      expect((await run({ kind }, { maxIterations: 2 })).r.stopReason).toBe('max-iterations');
      expect((await run({ kind }, { maxIterations: 100, maxInnerIterations: 30 })).r.stopReason).toBe('budget');
      expect((await run({ kind }, { maxIterations: 100 }, () => true)).r.stopReason).toBe('interrupted');
      expect((await run({ kind, options: { relGradTol: 2 } }, { maxIterations: 100 })).r.stopReason).toBe('converged');
    }
    expect((await run({ kind: 'adaptive', options: { epsilon0: 1e-9, delta0: 1e-9 } }, { maxIterations: 100 })).r.stopReason).toBe('accuracy-floor');
    expect((await run({ kind: 'fixed', options: { step0: 1e4, maxBacktracks: 1 } }, { maxIterations: 100 })).r.stopReason).toBe('accuracy-floor');
  });

  it("init 'diverse' starts the extra groups at other zero-mean derivative stencils; 'shifted' at shifted forward differences", () => {
    const family = new ConvOperatorFamily('learned', 5, 4, undefined, 1);
    const tap = (W: Float32Array, i: number, j: number, ch: number) => W[(i * 5 + j) * 8 + ch];
    const shifted = family.filters(family.initialLearnedTheta(0, 0, 0.1, 'shifted'));
    const diverse = family.filters(family.initialLearnedTheta(0, 0, 0.1, 'diverse'));
    for (const W of [shifted, diverse]) {
      // Group 0: the Neumann forward differences at the padding offset (2, 2), weight 1 − 3·0.1.
      expect(tap(W, 2, 2, 0)).toBeCloseTo(-0.7, 6);
      expect(tap(W, 2, 3, 0)).toBeCloseTo(0.7, 6);
      expect(tap(W, 3, 2, 1)).toBeCloseTo(0.7, 6);
      for (let ch = 0; ch < 8; ch++) expect(Math.abs(Array.from({ length: 25 }, (_, k) => W[k * 8 + ch]).reduce((a, b) => a + b, 0))).toBeLessThan(1e-6);
    }
    // Shifted: group 1 is the forward difference at (0, 0); diverse: diagonal differences, then (∂xx, ∂yy).
    expect(tap(shifted, 0, 0, 2)).toBeCloseTo(-0.1, 6);
    expect(tap(shifted, 0, 1, 2)).toBeCloseTo(0.1, 6);
    expect(tap(diverse, 2, 2, 2)).toBeCloseTo(-0.1, 6);
    expect(tap(diverse, 3, 3, 2)).toBeCloseTo(0.1, 6);
    expect([tap(diverse, 2, 1, 4), tap(diverse, 2, 2, 4), tap(diverse, 2, 3, 4)].map((v) => v / 0.1)).toEqual([1, -2, 1].map((v) => expect.closeTo(v, 5)));
    expect([tap(diverse, 1, 2, 5), tap(diverse, 2, 2, 5), tap(diverse, 3, 2, 5)].map((v) => v / 0.1)).toEqual([1, -2, 1].map((v) => expect.closeTo(v, 5)));
  });

  it('fixed accuracy with the L-BFGS metric descends at every step and gets further than −z steps in as many iterations', async () => {
    const { clean, noisy } = await pair(2, 16, 5);
    const family = learned();
    const theta0 = family.initialLearnedTheta(1, 2, 0.2);
    const final = async (metric: 'identity' | 'lbfgs') => {
      const oracle = new PiggybackOracle(family, noisy, clean, { huber: 1e-2 });
      const rows: IterationRecord[] = [];
      const r = await runPiggyback(oracle, theta0, { kind: 'fixed', options: { epsilon: 4e-6, delta: 9e-6, step0: 0.1, metric } }, { budget: { maxIterations: 12 }, onIteration: (row) => void rows.push({ ...row }) });
      await oracle.dispose();
      expect(r.stopReason).toBe('max-iterations');
      for (let k = 1; k < rows.length; k++) expect(rows[k].upperLoss).toBeLessThan(rows[k - 1].upperLoss);
      return rows.at(-1)!.upperLoss;
    };
    const [gd, qn] = [await final('identity'), await final('lbfgs')];
    console.log(`fixed-accuracy piggyback, 12 iterations: −z ${gd.toFixed(6)}, L-BFGS ${qn.toFixed(6)}`);
    expect(qn).toBeLessThan(gd);
    tf.dispose([clean, noisy]);
  });

  it('piggybackPsnr: PSNR and loss of the reconstructions at θ, warm-started from the accepted iterate', async () => {
    const { clean, noisy } = await pair(2, 16, 3);
    const oracle = new PiggybackOracle(ConvOperatorFamily.forwardDifferences(), noisy, clean, { huber: 1e-2 });
    const r = await piggybackPsnr(oracle, Float64Array.from([-4]), clean);
    expect(r.psnr).toBeGreaterThan(15);
    expect(r.loss).toBeGreaterThan(0);
    expect(r.iterations).toBeGreaterThan(0);
    await oracle.dispose();
    tf.dispose([clean, noisy]);
  });
});
