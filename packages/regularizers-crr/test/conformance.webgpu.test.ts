import { describe, expect, it } from 'vitest';
import { tf } from '@bilevel/core';
import { assertConformance, regularizerConformance, regularizerPluginConformance } from '@bilevel/testing';
import { ConvexRidge, crrModule } from '@bilevel/regularizers-crr';

// The webgpu group: conformance.test.ts's CRR suite (both engines) and the plugin kit on webgpu, on 2×12×12 images,
// with the wasm tolerances.

/** Random θ: spline log-slopes in [−2, 1], λ around e^{−0.5} (as in conformance.test.ts). */
function randomTheta(reg: ConvexRidge, seed: number): Float32Array {
  const t = reg.initialTheta(seed);
  let s = seed * 11 + 5;
  const u = () => ((s = (s * 16807) % 2147483647) / 2147483647);
  for (const b of reg.layout.blocks) {
    const n = b.shape.reduce((p, q) => p * q, 1);
    for (let i = b.offset; i < b.offset + n; i++) {
      if (b.name === 'splineLogSlopes') t[i] = -2 + 3 * u();
      else if (b.name === 'logStrength') t[i] = -1 + u();
      else t[i] *= 0.5 + u();
    }
  }
  return t;
}

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
