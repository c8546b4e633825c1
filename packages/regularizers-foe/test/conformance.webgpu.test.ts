import { describe, expect, it } from 'vitest';
import { PluginRegistry, tf } from '@bilevel/core';
import { assertConformance, regularizerConformance } from '@bilevel/testing';
import { FieldsOfExperts, foePlugins } from '@bilevel/regularizers-foe';

// The webgpu group: conformance.test.ts's suite for FoE (both engines, every boundary) on webgpu, 6 filters 5×5 on
// 2×16×16 images (its sizes: the finite-difference checks are tuned to them), with the wasm tolerances.
const registry = new PluginRegistry(foePlugins);
const ctx = { imageShape: [12, 12] as [number, number], seed: 0 };

/** Random θ around the reference initialisation (as in conformance.test.ts). */
function randomTheta(reg: FieldsOfExperts, seed: number): Float32Array {
  const t = reg.initialTheta(seed);
  const K = reg.options.filters;
  let s = seed * 7 + 1;
  const u = () => ((s = (s * 16807) % 2147483647) / 2147483647);
  for (let i = 0; i <= K; i++) t[i] = -2 + (u() - 0.5);
  for (let i = 1 + K; i <= 2 * K; i++) t[i] = -3 + 1.5 * u();
  for (let i = 1 + 2 * K; i < t.length; i++) t[i] *= 0.5 + u();
  return t;
}

describe('webgpu: Fields of Experts through the shared conformance suite', () => {
  for (const engine of ['patches', 'native'] as const) {
    for (const [zeroMean, boundary] of [[0, 'reflect'], [1, 'symmetric'], [0, 'valid']] as const) {
      it(`${engine}, ${boundary}, zeroMean ${zeroMean}: gradient, HVP, mixed product, curvature, convexity, memory`, async () => {
        const reg = registry.create('regularizer', 'foe', { filters: 6, size: 5, zeroMean, engine, boundary }, ctx, 'regularizer.options') as FieldsOfExperts;
        const r = await regularizerConformance(reg, { thetas: [reg.initialTheta(3), randomTheta(reg, 1)], convex: true });
        await assertConformance(r);
        expect(r.checks.length).toBeGreaterThan(8);
      });
    }
  }
});
