import { describe, expect, it } from 'vitest';
import { tf } from '@bilevel/core';
import { assertConformance, regularizerConformance, regularizerPluginConformance } from '@bilevel/testing';
import { Icnn, icnnModule } from '@bilevel/regularizers-icnn';
import { randomTheta } from './theta.js';

// The webgpu group: conformance.test.ts's ICNN suite (both engines) and the plugin kit on webgpu, small channels on
// 2×12×12 images, with the wasm tolerances.

describe('webgpu: ICNN through the shared conformance suite', () => {
  for (const engine of ['patches', 'native'] as const) {
    it(`channels [4, 2], ${engine}: gradient, HVP, mixed product, curvature, convexity, memory`, async () => {
      const reg = new Icnn({ channels: [4, 2], size: 4, engine });
      const r = await regularizerConformance(reg, { thetas: [reg.initialTheta(1), randomTheta(reg, 1)], convex: true, step: 4e-3, shape: [2, 12, 12, 1] });
      await assertConformance(r);
    });
  }

  it('the registered plugin passes the plugin kit with its defaults (1×12×12)', async () => {
    await assertConformance(regularizerPluginConformance(icnnModule, 'icnn', { shape: [1, 12, 12, 1], convex: true }));
  });
});
