import { describe, expect, it } from 'vitest';
import { PluginRegistry, tf } from '@bilevel/core';
import { assertConformance, regularizerConformance } from '@bilevel/testing';
import { FieldsOfExperts, foePlugins } from '@bilevel/regularizers-foe';
import { randomTheta } from './theta.js';

// The webgpu group: conformance.test.ts's suite for FoE (both engines, every boundary) on webgpu, 6 filters 5×5 on
// 2×16×16 images (its sizes: the finite-difference checks are tuned to them), with the wasm tolerances.
const registry = new PluginRegistry(foePlugins);
const ctx = { imageShape: [12, 12] as [number, number], seed: 0 };

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
