import { dot, norm } from './common.js';

/** L-BFGS memory: pairs (Δθ, Δz), oldest first, and the last accepted (θ, z). Plain arrays, so it serializes. */
export interface LbfgsMemory {
  pairs?: { s: number[]; y: number[] }[];
  last?: { theta: number[]; z: number[] };
}

/**
 * L-BFGS two-loop recursion d = H z over the stored pairs plus the candidate pair from the last accepted (θ, z)
 * (kept when ⟨Δθ, Δz⟩ > 10⁻¹⁰‖Δθ‖‖Δz‖, so H stays positive definite), H₀ = ⟨s, y⟩/⟨y, y⟩ of the newest pair.
 * `commit` is the memory to keep once a step along −d is accepted.
 */
export function lbfgsDirection(theta: Float64Array, z: Float64Array, st: LbfgsMemory, memory: number): { d: Float64Array; commit: LbfgsMemory } {
  let pairs = st.pairs ?? [];
  if (st.last) {
    const sv = Array.from(theta, (t, i) => t - st.last!.theta[i]);
    const yv = Array.from(z, (zi, i) => zi - st.last!.z[i]);
    if (dot(sv, yv) > 1e-10 * norm(sv) * norm(yv)) pairs = [...pairs, { s: sv, y: yv }].slice(-memory);
  }
  const commit: LbfgsMemory = { pairs, last: { theta: Array.from(theta), z: Array.from(z) } };
  if (pairs.length === 0) return { d: z, commit };
  const q = Array.from(z);
  const alphas: number[] = [];
  for (let k = pairs.length - 1; k >= 0; k--) {
    const { s, y } = pairs[k];
    const a = dot(s, q) / dot(y, s);
    alphas[k] = a;
    for (let i = 0; i < q.length; i++) q[i] -= a * y[i];
  }
  const newest = pairs[pairs.length - 1];
  const h0 = dot(newest.s, newest.y) / dot(newest.y, newest.y);
  for (let i = 0; i < q.length; i++) q[i] *= h0;
  for (let k = 0; k < pairs.length; k++) {
    const { s, y } = pairs[k];
    const b = dot(y, q) / dot(y, s);
    for (let i = 0; i < q.length; i++) q[i] += (alphas[k] - b) * s[i];
  }
  return { d: Float64Array.from(q), commit };
}

/** The memory to keep after an accepted step: a step that needed ≥ 3 halvings means the pairs are stale (inexact), so they go. */
export function memoryAfterStep(commit: LbfgsMemory, backtracks: number): LbfgsMemory {
  return backtracks >= 3 ? { pairs: [], last: commit.last } : commit;
}
