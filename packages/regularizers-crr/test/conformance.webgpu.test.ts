import { describe, expect, it } from 'vitest';
import { tf } from '@bilevel/core';
import { assertConformance, regularizerConformance, regularizerPluginConformance } from '@bilevel/testing';
import { ConvexRidge, crrModule } from '@bilevel/regularizers-crr';
import { randomTheta } from './theta.js';

// The webgpu group: conformance.test.ts's CRR suite (both engines) and the plugin kit on webgpu, on 2×12×12 images,
// with the wasm tolerances.

describe('webgpu: CRR through the shared conformance suite', () => {
  for (const engine of ['patches', 'native'] as const) {
    it(`smooth σ, channels [3, 4], 3×3, ${engine}: gradient, HVP, mixed product, curvature, convexity, memory`, async () => {
      const reg = new ConvexRidge({ channels: [3, 4], size: 3, range: 0.5, knots: 11, engine });
      const r = await regularizerConformance(reg, { thetas: [randomTheta(reg, 1), randomTheta(reg, 2)], convex: true, shape: [2, 12, 12, 1] });
      await assertConformance(r);
    });
  }

  it('the registered plugin passes the plugin kit with its defaults (1→8→32, 7×7, 21 knots; 1×16×16)', async () => {
    await assertConformance(regularizerPluginConformance(crrModule, 'crr', { shape: [1, 16, 16, 1], convex: true, thetas: [new ConvexRidge().initialTheta(0)] }));
  });
});
