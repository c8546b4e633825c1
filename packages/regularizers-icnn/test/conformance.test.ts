import { describe, expect, it } from 'vitest';
import { tf, type ImageBatch } from '@bilevel/core';
import { assertConformance, configErrorPath, implementationDifferences, regularizerPluginConformance, regularizerConformance } from '@bilevel/testing';
import { Icnn, ICNN_DEFAULTS, icnnModule, icnnPlugins } from '@bilevel/regularizers-icnn';
import { randomTheta } from './theta.js';

describe('ICNN through the shared conformance suite', () => {
  for (const [channels, engine] of [[[6, 3], 'patches'], [[5, 4, 2], 'patches'], [[6, 3], "native"]] as const) {
    it(`channels ${JSON.stringify(channels)}, ${engine}: gradient, HVP, mixed product, curvature, convexity, memory`, async () => {
      const reg = new Icnn({ channels: [...channels], size: 4, engine });
      // σ's corner has width ε = 0.05 in response units: central differences need steps that resolve it.
      const r = await regularizerConformance(reg, { thetas: [reg.initialTheta(1), randomTheta(reg, 1), randomTheta(reg, 2)], convex: true, step: 4e-3 });
      await assertConformance(r);
      expect(r.checks.some((c) => c.name.includes('convexity'))).toBe(true);
    });
  }

  it('the registered plugin passes the plugin kit (descriptor, layout, conformance) with default options', async () => {
    const r = await regularizerPluginConformance(icnnModule, 'icnn', { shape: [1, 16, 16, 1], convex: true });
    await assertConformance(r);
  });

  it('defaults: two layers [32, 4], 7×7, about 2000 parameters; fixed γ drops its parameter', () => {
    const reg = new Icnn();
    expect(reg.layout.size).toBe(1930);
    expect(icnnPlugins[0].parameterCount).toBe(1930);
    expect(new Icnn({ learnGamma: false }).layout.size).toBe(1929);
    const c = reg.curvature(reg.initialTheta(0));
    expect(c.mu).toBeCloseTo(1e-3, 8);
  });

  it('the two engines agree on value, gradX, hvpX and mixedVjp', async () => {
    const [a, b] = (['patches', 'native'] as const).map((engine) => new Icnn({ channels: [5, 3], size: 3, engine }));
    const th = tf.tensor1d(randomTheta(a, 4));
    const x = tf.randomUniform([2, 13, 11, 1], 0, 1, 'float32', 1) as ImageBatch;
    const v = tf.randomNormal([2, 13, 11, 1], 0, 1, 'float32', 2) as ImageBatch;
    const d = await implementationDifferences(a, b, x, th, v);
    expect(d.value).toBeLessThan(1e-5);
    expect(d.gradX).toBeLessThan(1e-4);
    expect(d.hvpX).toBeLessThan(1e-4);
    expect(d.mixedVjp).toBeLessThan(1e-4);
    tf.dispose([th, x, v]);
  });

  it('value is α Σ (σ(V x + b) − σ(b)) + γ/2‖x‖² for one layer of one 1×1 channel', () => {
    const reg = new Icnn({ channels: [1], size: 1, leak: 0.25, smoothing: 0.5, learnGamma: true, boundary: 'valid' });
    // θ = [V, b, log α, log γ]
    const theta = tf.tensor1d([2, -0.5, Math.log(3), Math.log(0.1)]);
    const xs = [0.1, 0.7, -0.3, 1.2];
    const x = tf.tensor4d(xs, [1, 2, 2, 1]) as ImageBatch;
    const sigma = (t: number) => 0.25 * t + (0.75 * (t + Math.sqrt(t * t + 0.25))) / 2;
    const expected = 3 * xs.reduce((a, v) => a + sigma(2 * v - 0.5) - sigma(-0.5), 0) + 0.05 * xs.reduce((a, v) => a + v * v, 0);
    expect(reg.value(x, theta).dataSync()[0]).toBeCloseTo(expected, 4);
    tf.dispose([theta, x]);
  });

  it("'derivatives' init with gain k on [4, 1] is anisotropic TV with corner ν = √2ε/k (equal weights, near-linear top layer)", () => {
    const k = 9, eps = 0.05, leak = 0.2, logScale = -3;
    const reg = new Icnn({ channels: [4, 1], size: 3, init: 'derivatives', initGain: k, smoothing: eps, leak, logScale, learnGamma: false, gamma: 1e-6, boundary: 'valid' });
    const th = reg.initialTheta(0);
    const W = reg.layout.blocks.find((b) => b.name === 'W2')!;
    const softplus = (t: number) => Math.log1p(Math.exp(t));
    for (let i = 0; i < 4; i++) expect(softplus(th[W.offset + i])).toBeCloseTo(0.25, 6);
    const [H, Wd] = [10, 12];
    const xs = Array.from({ length: H * Wd }, (_, i) => 0.5 + 0.3 * Math.sin(i * 1.7) * Math.cos(i * 0.3));
    const x = tf.tensor4d(xs, [1, H, Wd, 1]) as ImageBatch;
    const theta = tf.tensor1d(th);
    // R ≈ α·¼·(1 − λ)·(k/√2)·Σ_windows [√(D_h² + ν²) + √(D_v² + ν²) − 2ν] over the valid 3×3 windows.
    const nu = (Math.SQRT2 * eps) / k, at = (i: number, j: number) => xs[i * Wd + j];
    let tv = 0;
    for (let i = 1; i < H - 1; i++) for (let j = 1; j < Wd - 1; j++) {
      for (const d of [at(i, j + 1) - at(i, j), at(i + 1, j) - at(i, j)]) tv += Math.sqrt(d * d + nu * nu) - nu;
    }
    const expected = Math.exp(logScale) * 0.25 * (1 - leak) * (k / Math.SQRT2) * tv;
    const value = reg.value(x, theta).dataSync()[0];
    expect(Math.abs(value - expected) / expected).toBeLessThan(5e-3);
    tf.dispose([x, theta]);
  });
});

describe('ICNN options are declared once', () => {
  const d = icnnPlugins[0];
  const make = (o: Record<string, unknown>) => () => d.create(o, { imageShape: [16, 16], seed: 0 }, 'regularizer.options');
  it('schema defaults are ICNN_DEFAULTS (learnGamma as 0|1); errors name the field', () => {
    expect(d.schema!.parse({})).toEqual({ ...ICNN_DEFAULTS, learnGamma: 1 });
    expect(configErrorPath(make({ channels: [] }))).toBe('regularizer.options.channels');
    expect(configErrorPath(make({ channels: [32, 0] }))).toBe('regularizer.options.channels.1');
    expect(configErrorPath(make({ leak: 1.5 }))).toBe('regularizer.options.leak');
    expect(configErrorPath(make({ learnGamma: 0.5 }))).toBe('regularizer.options.learnGamma');
    expect(configErrorPath(make({ layers: 2 }))).toBe('regularizer.options.layers');
  });
});
