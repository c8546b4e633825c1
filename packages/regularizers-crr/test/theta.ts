// Random θ for the conformance suites (wasm: conformance.test.ts; webgpu: conformance.webgpu.test.ts).
import type { ConvexRidge } from '@bilevel/regularizers-crr';

/** Random θ: spline log-slopes in [−2, 1] (a genuinely non-linear monotone σ), λ around e^{−0.5}. */
export function randomTheta(reg: ConvexRidge, seed: number): Float32Array {
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
