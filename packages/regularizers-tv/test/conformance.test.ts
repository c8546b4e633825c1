import { describe, expect, it } from 'vitest';
import { fusedKernels, tf, PluginRegistry, type ImageBatch } from '@bilevel/core';
import { assertConformance, configErrorPath, pluginOptionsCheck, regularizerConformance } from '@bilevel/testing';
import { tvPlugins, AnisotropicTV } from '@bilevel/regularizers-tv';

const registry = new PluginRegistry(tvPlugins);
// Smoothing ν = e^{θ₁} ≈ 0.1–0.2 keeps float32 finite differences well conditioned on [0, 1] images.
const thetas = [Float32Array.from([-1, -2]), Float32Array.from([0.5, -1.5])];

describe('TV regularizers through the shared conformance suite', () => {
  for (const name of registry.names('regularizer')) {
    it(`${name}: gradient, HVP, mixed product, curvature, convexity, memory`, async () => {
      const reg = registry.create('regularizer', name, {}, { imageShape: [16, 16], seed: 0 }, 'regularizer.options');
      const r = await regularizerConformance(reg, { thetas, convex: true });
      await assertConformance(r);
      expect(r.checks.length).toBeGreaterThan(8);
    });
  }

  it('anisotropic value matches the reference formula on a tiny image', () => {
    const x = tf.tensor4d([0, 1, 2, 4], [1, 2, 2, 1]) as ImageBatch;
    const theta = tf.tensor1d([Math.log(2), Math.log(0.5)]);
    const v = new AnisotropicTV().value(x, theta).dataSync()[0];
    // ½·2·[√(1+¼) + √(4+¼)  (rows)  + √(4+¼) + √(9+¼)  (columns)]
    const expected = Math.sqrt(1.25) + 2 * Math.sqrt(4.25) + Math.sqrt(9.25);
    expect(v).toBeCloseTo(expected, 4);
  });
});

describe('fused TV kernels', () => {
  it('the gradient and the Hessian-vector product agree with the composite tfjs-op path', () => {
    const x = tf.randomUniform([3, 20, 17, 1], 0, 1, 'float32', 5) as ImageBatch;
    const v = tf.randomNormal([3, 20, 17, 1], 0, 1, 'float32', 6) as ImageBatch;
    const theta = tf.tensor1d([-1.5, -3]);
    const reg = new AnisotropicTV();
    for (const op of [() => reg.gradX(x, theta), () => reg.hvpX(x, theta, v)]) {
      const fused = op();
      fusedKernels.enabled = false;
      const composite = op();
      fusedKernels.enabled = true;
      const err = tf.tidy(() => tf.max(tf.abs(tf.sub(fused, composite))).dataSync()[0] / tf.max(tf.abs(composite)).dataSync()[0]);
      expect(err).toBeLessThan(1e-5);
      tf.dispose([fused, composite]);
    }
    tf.dispose([x, v, theta]);
  });
});

describe('TV options are declared once (no options: an empty strict schema)', () => {
  for (const d of tvPlugins) {
    it(`${d.name}: schema, defaults, unknown keys name the field`, async () => {
      await assertConformance({ subject: d.name, passed: true, checks: [pluginOptionsCheck(d, { imageShape: [8, 8], seed: 0 })] });
      expect(configErrorPath(() => registry.create('regularizer', d.name, { weight: 1 }, { imageShape: [8, 8], seed: 0 }, 'regularizer.options'))).toBe('regularizer.options.weight');
    });
  }
});
