// Random θ for the conformance suites (wasm: conformance.test.ts; webgpu: conformance.webgpu.test.ts).
import type { FieldsOfExperts } from '@bilevel/regularizers-foe';

/** Random θ around the reference initialisation: log-weights ±0.5, log-smoothing in [−3, −1.5], filters ×(1 ± ½). */
export function randomTheta(reg: FieldsOfExperts, seed: number): Float32Array {
  const t = reg.initialTheta(seed);
  const K = reg.options.filters;
  let s = seed * 7 + 1;
  const u = () => ((s = (s * 16807) % 2147483647) / 2147483647);
  for (let i = 0; i <= K; i++) t[i] = -2 + (u() - 0.5);
  for (let i = 1 + K; i <= 2 * K; i++) t[i] = -3 + 1.5 * u();
  for (let i = 1 + 2 * K; i < t.length; i++) t[i] *= 0.5 + u();
  return t;
}
