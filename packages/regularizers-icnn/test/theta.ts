// Random θ for the conformance suites (wasm: conformance.test.ts; webgpu: conformance.webgpu.test.ts).
import type { Icnn } from '@bilevel/regularizers-icnn';

/** Random θ around the initialisation: V scaled up so activations leave the quadratic regime, random biases. */
export function randomTheta(reg: Icnn, seed: number): Float32Array {
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
