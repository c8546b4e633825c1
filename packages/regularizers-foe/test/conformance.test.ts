import { describe, expect, it } from 'vitest';
import { fusedKernels, tf, PluginRegistry, type ImageBatch } from '@bilevel/core';
import { assertConformance, configErrorPath, implementationDifferences, pluginOptionsCheck, regularizerConformance } from '@bilevel/testing';
import { FieldsOfExperts, FOE_DEFAULTS, foePlugins } from '@bilevel/regularizers-foe';
import { byChunks, filterBank, imagesPerChunk, multiplierBound, PatchGeometry } from '@bilevel/convkit';
import { randomTheta } from './theta.js';

const registry = new PluginRegistry(foePlugins);
const ctx = { imageShape: [16, 16] as [number, number], seed: 0 };

describe('Fields of Experts through the shared conformance suite', () => {
  for (const engine of ['patches', 'native'] as const) {
    for (const [zeroMean, boundary] of [[0, 'reflect'], [1, 'symmetric'], [0, 'valid']] as const) {
      it(`${engine}, ${boundary}, zeroMean ${zeroMean}: gradient, HVP, mixed product, curvature, convexity, memory`, async () => {
        const reg = registry.create('regularizer', 'foe', { filters: 6, size: 5, zeroMean, engine, boundary }, ctx, 'regularizer.options') as FieldsOfExperts;
        const r = await regularizerConformance(reg, { thetas: [reg.initialTheta(3), randomTheta(reg, 1), randomTheta(reg, 2)], convex: true });
        await assertConformance(r);
        expect(r.checks.length).toBeGreaterThan(12);
      });
    }
  }

  it('the default is the MAID reference: 48 filters 7×7, 2449 parameters, initialisation as in DESIGN §3', () => {
    const reg = registry.create('regularizer', 'foe', {}, ctx, 'regularizer.options');
    expect(reg.layout.size).toBe(2449);
    expect(foePlugins[0].parameterCount).toBe(2449);
    const t = reg.initialTheta(0);
    expect(Array.from(t.subarray(0, 49)).every((v) => v === -3)).toBe(true);
    expect(Array.from(t.subarray(49, 97)).every((v) => v === -3.5)).toBe(true);
    for (let k = 0; k < 48; k++) {
      const c = t.subarray(97 + 49 * k, 97 + 49 * (k + 1));
      expect(Math.abs(c.reduce((a, b) => a + b, 0))).toBeLessThan(1e-5);
    }
    const std = Math.sqrt(t.subarray(97).reduce((a, b) => a + b * b, 0) / (48 * 49));
    expect(std).toBeGreaterThan(0.8 * Math.sqrt(2 / (49 + 49 * 48)));
    expect(std).toBeLessThan(1.2 * Math.sqrt(2 / (49 + 49 * 48)));
    expect(reg.initialTheta(0)).toEqual(t);
    expect(reg.initialTheta(1)).not.toEqual(t);
    expect(reg.layout.blocks.map((b) => b.name)).toEqual(['logScale', 'logWeights', 'logSmoothing', 'filters']);
  });

  it('value matches the formula on a tiny image (one 2×2 filter, valid windows)', () => {
    for (const engine of ['patches', 'native'] as const) {
      const reg = new FieldsOfExperts({ filters: 1, size: 2, engine, boundary: 'valid' });
      const x = tf.tensor4d([0, 1, 2, 4, 3, 1, 0, 2, 5], [1, 3, 3, 1]) as ImageBatch;
      // θ₀ = log 2, θ₁ = log 3, ν = 0.5, c = [[1, −1], [0, 2]]
      const theta = tf.tensor1d([Math.log(2), Math.log(3), Math.log(0.5), 1, -1, 0, 2]);
      const v = reg.value(x, theta).dataSync()[0];
      const X = [[0, 1, 2], [4, 3, 1], [0, 2, 5]];
      let expected = 0;
      for (let p = 0; p < 2; p++) for (let q = 0; q < 2; q++) {
        const u = X[p][q] - X[p][q + 1] + 2 * X[p + 1][q + 1];
        expected += 6 * Math.sqrt(u * u + 0.25);
      }
      expect(v).toBeCloseTo(expected, 3);
      x.dispose(); theta.dispose();
    }
  });

  it("'reflect' is FoE with 'valid' windows on the mirror-extended image (as conv2d(padding_mode='reflect'))", () => {
    const a = new FieldsOfExperts({ filters: 3, size: 5, boundary: 'reflect' });
    const b = new FieldsOfExperts({ filters: 3, size: 5, boundary: 'valid' });
    const th = tf.tensor1d(a.initialTheta(2));
    const x = tf.randomUniform([2, 9, 12, 1], 0, 1, 'float32', 3) as ImageBatch;
    const xe = tf.mirrorPad(x, [[0, 0], [2, 2], [2, 2], [0, 0]], 'reflect') as ImageBatch;
    expect(a.value(x, th).dataSync()[0]).toBeCloseTo(b.value(xe, th).dataSync()[0], 3);
    tf.dispose([th, x, xe]);
  });

  it('the two engines agree on value, gradX, hvpX and mixedVjp (odd image sizes, batch 3)', async () => {
    const a = new FieldsOfExperts({ filters: 5, size: 4, engine: 'patches' });
    const b = new FieldsOfExperts({ filters: 5, size: 4, engine: 'native' });
    const th = tf.tensor1d(a.initialTheta(5));
    const x = tf.randomUniform([3, 13, 17, 1], 0, 1, 'float32', 1) as ImageBatch;
    const v = tf.randomNormal([3, 13, 17, 1], 0, 1, 'float32', 2) as ImageBatch;
    const d = await implementationDifferences(a, b, x, th, v);
    expect(d.value).toBeLessThan(1e-5);
    expect(d.gradX).toBeLessThan(1e-4);
    expect(d.hvpX).toBeLessThan(1e-4);
    expect(d.mixedVjp).toBeLessThan(1e-4);
    tf.dispose([th, x, v]);
  });

  it('grid responses, patches and the shift-sum adjoint are consistent: ⟨P x, T⟩ = ⟨x, Pᵀ T⟩, responses = F P', () => {
    const g = PatchGeometry.for([2, 11, 9], 3);
    tf.tidy(() => {
      const x = tf.randomNormal([2, 11, 9, 1], 0, 1, 'float32', 3) as ImageBatch;
      const T = tf.mul(tf.randomNormal([g.M, 9], 0, 1, 'float32', 4), g.mask(9));
      const P = g.patches(x); // [9, M]
      const lhs = tf.sum(tf.mul(tf.transpose(P), T)).dataSync()[0];
      const rhs = tf.sum(tf.mul(x, g.adjointSum(T))).dataSync()[0];
      expect(Math.abs(lhs - rhs) / Math.abs(lhs)).toBeLessThan(1e-5);
      expect(g.validCount).toBe(2 * 9 * 7);
      const F = tf.randomNormal([4, 9], 0, 1, 'float32', 5);
      const viaConv = tf.mul(g.responses(g.padded(x), F), g.mask(4));
      const viaPatches = tf.mul(tf.transpose(tf.matMul(F, P)), g.mask(4));
      expect(tf.max(tf.abs(tf.sub(viaConv, viaPatches))).dataSync()[0]).toBeLessThan(1e-5);
    });
  });

  it('the frequency-grid bound is an upper bound of ‖C‖² and is tight within its Bernstein factor', () => {
    // A 3×3 Laplacian: sup |ĉ|² = 16² · … exactly 144 at ω = (π, π)? (ĉ = 4 − 2cos ω₁ − 2cos ω₂ ≤ 8 → 64).
    const lap = [0, -1, 0, -1, 4, -1, 0, -1, 0];
    const b = multiplierBound([lap], 3, 3);
    expect(b).toBeGreaterThanOrEqual(64);
    expect(b).toBeLessThan(64 * 1.25);
    // Power iteration on a 'valid' bank stays below the bound.
    const reg = new FieldsOfExperts({ filters: 4, size: 5, boundary: 'valid' });
    const theta = reg.initialTheta(9);
    const { L } = reg.curvature(theta);
    const bank = filterBank(5);
    const lam = tf.tidy(() => {
      const th = tf.tensor1d(theta);
      let v = tf.randomNormal([1, 32, 32, 1], 0, 1, 'float32', 5) as ImageBatch;
      // Hessian at x = 0 where φ'' = 1/ν attains its maximum.
      const x0 = tf.zeros([1, 32, 32, 1]) as ImageBatch;
      let ratio = 0;
      for (let k = 0; k < 60; k++) {
        const hv = reg.hvpX(x0, th, v);
        ratio = tf.norm(hv).dataSync()[0] / tf.norm(v).dataSync()[0];
        v = tf.div(hv, tf.norm(hv)) as ImageBatch;
      }
      void bank;
      return ratio;
    });
    expect(lam).toBeLessThanOrEqual(L);
    expect(lam).toBeGreaterThan(L / 2.5);
  });

  it('processing a batch by chunks is exact (large batches are chunked to bound the wasm heap)', () => {
    const reg = new FieldsOfExperts({ filters: 4, size: 3 });
    const th = tf.tensor1d(reg.initialTheta(1));
    const x = tf.randomUniform([5, 12, 10, 1], 0, 1, 'float32', 1) as ImageBatch;
    const v = tf.randomNormal([5, 12, 10, 1], 0, 1, 'float32', 2) as ImageBatch;
    const rel = (p: tf.Tensor, q: tf.Tensor) => tf.tidy(() => tf.norm(tf.sub(p, q)).dataSync()[0] / tf.norm(q).dataSync()[0]);
    expect(rel(byChunks(x, undefined, 2, 'concat', (xc) => reg.gradX(xc, th)), reg.gradX(x, th))).toBeLessThan(1e-6);
    expect(rel(byChunks(x, v, 2, 'sum', (xc, vc) => reg.mixedVjp(xc, th, vc!)), reg.mixedVjp(x, th, v))).toBeLessThan(1e-5);
    expect(imagesPerChunk([20, 256, 256], 7, 48)).toBeLessThan(20);
    expect(imagesPerChunk([4, 128, 128], 7, 48)).toBeGreaterThanOrEqual(4);
    tf.dispose([th, x, v]);
  });

  it('rejects unknown and invalid options with the config path', () => {
    expect(() => registry.create('regularizer', 'foe', { filter: 3 }, ctx, 'regularizer.options')).toThrow(/regularizer\.options\.filter/);
    expect(() => registry.create('regularizer', 'foe', { size: 1 }, ctx, 'regularizer.options')).toThrow(/regularizer\.options\.size/);
    expect(() => registry.create('regularizer', 'foe', { zeroMean: 2 }, ctx, 'regularizer.options')).toThrow(/zeroMean/);
  });

  it('declares its options once: schema defaults are FOE_DEFAULTS (zeroMean as 0|1), listed with their defaults', async () => {
    const d = foePlugins[0];
    await assertConformance({ subject: 'foe', passed: true, checks: [pluginOptionsCheck(d, ctx)] });
    expect(d.schema!.parse({})).toEqual({ ...FOE_DEFAULTS, zeroMean: 0 });
    expect(d.options!.filters).toBe('number of filters K (default 48)');
    expect(configErrorPath(() => registry.create('regularizer', 'foe', { engine: 'gpu' }, ctx, 'regularizer.options'))).toBe('regularizer.options.engine');
    expect(configErrorPath(() => registry.create('regularizer', 'foe', { filterScale: 0 }, ctx, 'regularizer.options'))).toBe('regularizer.options.filterScale');
  });
});

describe('fused FoE activation kernel', () => {
  it.each(['patches', 'native'] as const)('agrees with the composite tfjs-op path (%s engine, reflect)', (engine) => {
    const reg = new FieldsOfExperts({ filters: 6, size: 5, engine });
    const theta = tf.tensor1d(randomTheta(reg, 3));
    const x = tf.randomUniform([2, 19, 17, 1], 0, 1, 'float32', 11) as ImageBatch;
    const v = tf.randomNormal([2, 19, 17, 1], 0, 1, 'float32', 12) as ImageBatch;
    const run = () => [reg.gradX(x, theta), reg.hvpX(x, theta, v), reg.mixedVjp(x, theta, v)];
    const fused = run();
    fusedKernels.enabled = false;
    const composite = run();
    fusedKernels.enabled = true;
    fused.forEach((f, i) => {
      const err = tf.tidy(() => tf.norm(tf.sub(f, composite[i])).dataSync()[0] / tf.norm(composite[i]).dataSync()[0]);
      expect(err).toBeLessThan(1e-5);
    });
    tf.dispose([theta, x, v, ...fused, ...composite]);
  });
});
