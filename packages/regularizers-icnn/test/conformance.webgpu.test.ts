import { describe, expect, it } from 'vitest';
import { tf } from '@bilevel/core';
import { assertConformance, regularizerConformance, regularizerPluginConformance } from '@bilevel/testing';
import { Icnn, icnnModule } from '@bilevel/regularizers-icnn';

// The webgpu group: conformance.test.ts's ICNN suite (both engines) and the plugin kit on webgpu, small channels on
// 2×12×12 images, with the wasm tolerances.

/** Random θ around the initialisation (as in conformance.test.ts). */
function randomTheta(reg: Icnn, seed: number): Float32Array {
  const t = reg.initialTheta(seed);
  let s = seed * 7 + 3;
  const u = () => ((s = (s * 16807) % 2147483647) / 2147483647);
  for (const b of reg.layout.blocks) {
    const n = b.shape.reduce((p, q) => p * q, 1);
    for (let i = b.offset; i < b.offset + n; i++) {
      if (b.name.startsWith('V')) t[i] *= 4 * (0.5 + u());
      else if (b.name.startsWith('b')) t[i] = 0.3 * (u() - 0.5);
      else if (b.name.startsWith('W')) t[i] += u() - 0.5;
      else if (b.name === 'logScale') t[i] = -1 + u();
      else t[i] = Math.log(0.05);
    }
  }
  return t;
}

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
