import { describe, expect, it } from 'vitest';
import { tf, type ImageBatch } from '@bilevel/core';
import { assertConformance, configErrorPath, convexityCheck, curvatureCheck, gradientCheck, hvpCheck, memoryCheck, regularizerConformance, regularizerPluginConformance } from '@bilevel/testing';
import { compositeKernels, ConvexRidge, CRR_DEFAULTS, crrModule, crrPlugins } from '@bilevel/regularizers-crr';
import { multiplierGrid } from '@bilevel/convkit';
import { randomTheta } from './theta.js';

describe('CRR through the shared conformance suite', () => {
  for (const [channels, size, range, engine] of [[[3, 5], 3, 0.5, 'patches'], [[4], 4, 0.3, 'patches'], [[2, 3, 4], 3, 1, 'patches'], [[3, 5], 3, 0.5, 'native']] as const) {
    it(`smooth σ, channels ${JSON.stringify(channels)}, ${size}×${size}, ${engine}: gradient, HVP, mixed product, curvature, convexity, memory`, async () => {
      const reg = new ConvexRidge({ channels: [...channels], size, range, knots: 11, engine });
      const r = await regularizerConformance(reg, { thetas: [randomTheta(reg, 1), randomTheta(reg, 2)], convex: true, shape: [2, 20, 20, 1] });
      await assertConformance(r);
    });
  }

  it("linear σ (the paper's spline): gradient, curvature, convexity, memory; HVP = FD of gradX away from the knots", async () => {
    const reg = new ConvexRidge({ channels: [3, 5], size: 3, range: 0.5, knots: 11, activation: 'linear' });
    const theta = randomTheta(reg, 3);
    const x = tf.randomUniform([2, 20, 20, 1], 0, 1, 'float32', 3) as ImageBatch;
    const p = { x, theta };
    const th = tf.tensor1d(theta);
    const checks = [await gradientCheck(reg, p), await curvatureCheck(reg, p), await convexityCheck(reg, p), memoryCheck('crr linear', () => [reg.gradX(x, th), reg.hvpX(x, th, x), reg.mixedVjp(x, th, x)])];
    for (const c of checks) expect(c.passed, `${c.name}: ${c.error} (${c.detail})`).toBe(true);
    // ∇R is only Lipschitz: its directional derivative matches the a.e. Hessian for steps that cross few knots.
    expect((await hvpCheck(reg, p, 13, 2e-2, 1e-3)).passed).toBe(true);
    tf.dispose([x, th]);
  });

  it('the registered plugin passes the plugin kit with its defaults (1→8→32, 7×7, 21 knots)', async () => {
    const r = await regularizerPluginConformance(crrModule, 'crr', { shape: [1, 24, 24, 1], convex: true, thetas: [new ConvexRidge().initialTheta(0)] });
    await assertConformance(r);
  });

  it('θ₀: ‖W‖ = 1, zero-mean composite kernel, σ = clip(·, −T, T); layout and parameter count', () => {
    const reg = new ConvexRidge();
    const t = reg.initialTheta(4);
    expect(reg.layout.size).toBe(1 + 8 * 49 + 32 * 8 * 49 + 32 * 20);
    expect(crrPlugins[0].parameterCount).toBe(reg.layout.size);
    const convs = reg.layout.blocks.filter((b) => b.name.startsWith('conv'));
    const { kernels, S } = compositeKernels(t, convs, 7);
    expect(S).toBe(13);
    for (const k of kernels) expect(Math.abs(k.reduce((a, b) => a + b, 0))).toBeLessThan(1e-5);
    expect(multiplierGrid(kernels, S, S, undefined, 48).max).toBeCloseTo(1, 3);
    const { knots, values } = reg.activations(t);
    expect(reg.options.activation).toBe('smooth');
    expect(knots.length).toBe(21);
    values[0].forEach((v, j) => expect(v).toBeCloseTo(knots[j], 6));
    // L = ‖E‖² λ max σ' ‖W‖² with ‖E‖² ≤ 4 for the mirror extension, 1 for 'valid'.
    expect(reg.curvature(t).L).toBeGreaterThanOrEqual(4);
    expect(reg.curvature(t).L).toBeLessThan(4 * 1.4);
    const valid = new ConvexRidge({ boundary: 'valid' });
    expect(valid.curvature(t).L).toBeGreaterThanOrEqual(1);
    expect(valid.curvature(t).L).toBeLessThan(1.4);
  });

  it('ψ(0) = σ(0) = 0: a constant image has R = 0 and ∇R = 0 (zero-mean W), for both activations', () => {
    for (const activation of ['smooth', 'linear'] as const) {
      const reg = new ConvexRidge({ channels: [3, 4], size: 3, knots: 11, range: 0.3, activation });
      const th = tf.tensor1d(randomTheta(reg, 7));
      const x = tf.fill([1, 12, 12, 1], 0.37) as ImageBatch;
      expect(Math.abs(reg.value(x, th).dataSync()[0])).toBeLessThan(1e-5);
      expect(tf.max(tf.abs(reg.gradX(x, th))).dataSync()[0]).toBeLessThan(1e-5);
      tf.dispose([th, x]);
    }
  });

  it('the JavaScript lookup (wasm/cpu) and the tf.gather path agree on σ, σ′, ψ and the slope gradient', async () => {
    const { evaluateSpline, splineTables } = await import('@bilevel/regularizers-crr');
    for (const kind of ['linear', 'smooth'] as const) {
      tf.tidy(() => {
        const C = 3, J = 10, D = 0.07;
        const logS = tf.randomUniform([C * J], -2, 1, 'float32', 5);
        const T = splineTables(kind, logS, C, J, D);
        const a = tf.randomUniform([50, C], -3, J + 3, 'float32', 6);
        const w = tf.randomNormal([50, C], 0, 1, 'float32', 7);
        const js = evaluateSpline(kind, T, a, D, true), tg = evaluateSpline(kind, T, a, D, false);
        for (const f of ['sigma', 'slope', 'psi'] as const) expect(tf.max(tf.abs(tf.sub(js[f](), tg[f]()))).dataSync()[0]).toBeLessThan(1e-5);
        expect(tf.max(tf.abs(tf.sub(js.slopeGradient(w), tg.slopeGradient(w)))).dataSync()[0]).toBeLessThan(1e-4);
      });
    }
  });

  it('with fused kernels switched off the JavaScript path falls back to tf.gather (same results)', async () => {
    const { evaluateSpline, splineTables } = await import('@bilevel/regularizers-crr');
    const { fusedKernels } = await import('@bilevel/core');
    tf.tidy(() => {
      const T = splineTables('smooth', tf.randomUniform([2 * 6], -2, 1, 'float32', 1), 2, 6, 0.1);
      const a = tf.randomUniform([30, 2], -2, 8, 'float32', 2);
      const fused = evaluateSpline('smooth', T, a, 0.1, true).psi();
      fusedKernels.enabled = false;
      const fallback = evaluateSpline('smooth', T, a, 0.1, true).psi();
      fusedKernels.enabled = true;
      expect(tf.max(tf.abs(tf.sub(fused, fallback))).dataSync()[0]).toBeLessThan(1e-5);
    });
  });

  it('value integrates σ exactly: R(x) for a 1×1 single-channel W is λ Σ ψ(w x)', () => {
    const reg = new ConvexRidge({ channels: [1], size: 1, knots: 5, range: 1, activation: 'linear', boundary: 'valid' });
    // θ = [log λ, w, log-slopes of 4 pieces on [−1, −½, 0, ½, 1]]
    const slopes = [0.5, 2, 1, 3];
    const theta = tf.tensor1d([Math.log(1.5), 0, ...slopes.map(Math.log)]);
    // the one-channel filter is projected to zero mean → W = 0, R ≡ 0 …
    const x = tf.tensor4d([0.3, -0.8, 1.7, 0.1], [1, 2, 2, 1]) as ImageBatch;
    expect(Math.abs(reg.value(x, theta).dataSync()[0])).toBeLessThan(1e-6);
    // … so use two layers 1 → 1 → 1 with 1×1 kernels: still zero-mean. Check ψ through a 2-tap filter instead.
    const reg2 = new ConvexRidge({ channels: [1], size: 2, knots: 5, range: 1, activation: 'linear', boundary: 'valid' });
    // c = [[a, −a], [0, 0]] with a = 0.5 → (W x)[p, q] = 0.5 (x[p, q] − x[p, q+1]).
    const theta2 = tf.tensor1d([Math.log(1.5), 0.5, -0.5, 0, 0, ...slopes.map(Math.log)]);
    const xs = [[0.3, -0.8, 1.7], [0.1, 2.9, -1.2]];
    const x2 = tf.tensor4d(xs.flat(), [1, 2, 3, 1]) as ImageBatch;
    const knots = [-1, -0.5, 0, 0.5, 1];
    const sigmaAt = (t: number) => { // σ(0) = 0, slopes per piece, constant beyond ±1
      const tc = Math.min(1, Math.max(-1, t));
      let v = 0;
      for (let j = 0; j < 4; j++) v += slopes[j] * (Math.min(Math.max(tc - knots[j], 0), 0.5) - Math.min(Math.max(-knots[j], 0), 0.5));
      return v;
    };
    const psiAt = (t: number) => { let s = 0; const n = 20000; for (let i = 0; i < n; i++) s += sigmaAt(((i + 0.5) / n) * t) * (t / n); return s; };
    let expected = 0;
    for (let p = 0; p < 1; p++) for (let q = 0; q < 2; q++) {
      // valid 2×2 windows: c = [[0.5, −0.5], [0, 0]] → 0.5 (x[p][q] − x[p][q+1])
      expected += psiAt(0.5 * (xs[p][q] - xs[p][q + 1]));
    }
    expect(reg2.value(x2, theta2).dataSync()[0]).toBeCloseTo(1.5 * expected, 4);
    tf.dispose([theta, x, theta2, x2]);
  });
});

describe('CRR options are declared once', () => {
  const d = crrPlugins[0];
  const make = (o: Record<string, unknown>) => () => d.create(o, { imageShape: [16, 16], seed: 0 }, 'regularizer.options');
  it('schema defaults are CRR_DEFAULTS; knots must be odd (one error, with the fix); errors name the field', () => {
    expect(d.schema!.parse({})).toEqual(CRR_DEFAULTS);
    expect(() => make({ knots: 20 })()).toThrow(/regularizer\.options\.knots: must be odd[^]*use 21/);
    expect(configErrorPath(make({ knots: 2 }))).toBe('regularizer.options.knots');
    expect(configErrorPath(make({ channels: [8, 513] }))).toBe('regularizer.options.channels.1');
    expect(configErrorPath(make({ activation: 'relu' }))).toBe('regularizer.options.activation');
    expect(configErrorPath(make({ range: 0 }))).toBe('regularizer.options.range');
  });
});
