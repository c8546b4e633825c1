import { describe, expect, it } from 'vitest';
import { PluginRegistry, tf } from '@bilevel/core';
import { assertConformance, regularizerConformance } from '@bilevel/testing';
import { tvPlugins } from '@bilevel/regularizers-tv';

// The webgpu group: conformance.test.ts's suite for every registered TV regularizer on webgpu (wasm tolerances).
const registry = new PluginRegistry(tvPlugins);
const thetas = [Float32Array.from([-1, -2]), Float32Array.from([0.5, -1.5])];

describe('webgpu: TV regularizers through the shared conformance suite', () => {
  for (const name of registry.names('regularizer')) {
    it(`${name}: gradient, HVP, mixed product, curvature, convexity, memory (2×12×12)`, async () => {
      const reg = registry.create('regularizer', name, {}, { imageShape: [12, 12], seed: 0 }, 'regularizer.options');
      const r = await regularizerConformance(reg, { thetas, convex: true, shape: [2, 12, 12, 1] });
      await assertConformance(r);
      expect(r.checks.length).toBeGreaterThan(8);
    });
  }
});
