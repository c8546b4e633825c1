import { extension, type Boundary } from './conv.js';
import { multiplierBound } from './spectral.js';

/** Original index of extended index e ∈ [−a, n + b) under the mirror extension ('reflect' about the edge pixel, 'symmetric' repeating it). */
function mirror(e: number, n: number, mode: 'reflect' | 'symmetric'): number {
  const shift = mode === 'reflect' ? 0 : 1;
  if (e < 0) return -e - shift;
  if (e >= n) return 2 * (n - 1) - e + shift;
  return e;
}

/**
 * The Gram matrices, dense [hw, hw], on an h×w image: M = Σ_c (𝒞_c E)ᵀ(𝒞_c E) (window (y, x) sees x̃[y + r − a, x + q − a]
 * with tap (r, q)), and T = Σ_c 𝒞̄_cᵀ𝒞̄_c (every window of the zero-padded image: T_ij = Σ_c acorr_c(j − i)).
 */
export function extendedGram(kernels: readonly ArrayLike<number>[], s: number, h: number, w: number, mode: 'reflect' | 'symmetric'): { M: Float64Array; T: Float64Array } {
  const [a] = extension(s), P = h * w;
  const M = new Float64Array(P * P), T = new Float64Array(P * P);
  const idx = new Int32Array(s * s), val = new Float64Array(s * s);
  for (const c of kernels) {
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      // The window's coefficients per pixel (a pixel seen twice through E gets the sum).
      let n = 0;
      for (let r = 0; r < s; r++) for (let q = 0; q < s; q++) {
        const p = mirror(y + r - a, h, mode) * w + mirror(x + q - a, w, mode);
        let k = 0;
        while (k < n && idx[k] !== p) k++;
        if (k === n) { idx[n] = p; val[n++] = 0; }
        val[k] += c[r * s + q];
      }
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) M[idx[i] * P + idx[j]] += val[i] * val[j];
    }
  }
  // T_ij = Σ_c acorr_c(j − i), the autocorrelations summed over the bank once per offset.
  const span = 2 * s - 1, acorr = new Float64Array(span * span);
  for (const c of kernels) for (let dy = 1 - s; dy < s; dy++) for (let dx = 1 - s; dx < s; dx++) {
    let acc = 0;
    for (let r = Math.max(0, -dy); r < Math.min(s, s - dy); r++) for (let q = Math.max(0, -dx); q < Math.min(s, s - dx); q++) acc += c[r * s + q] * c[(r + dy) * s + q + dx];
    acorr[(dy + s - 1) * span + dx + s - 1] += acc;
  }
  for (let i = 0; i < P; i++) for (let j = 0; j < P; j++) {
    const dy = Math.floor(j / w) - Math.floor(i / w), dx = (j % w) - (i % w);
    if (Math.abs(dy) < s && Math.abs(dx) < s) T[i * P + j] = acorr[(dy + s - 1) * span + dx + s - 1];
  }
  return { M, T };
}

/** The border's share max_i (Δ_ii + Σ_{j≠i} |Δ_ij|) of Δ = M − T (extendedGram) on an h×w image (Gershgorin rows). */
export function borderShare(kernels: readonly ArrayLike<number>[], s: number, h: number, w: number, mode: 'reflect' | 'symmetric'): number {
  const { M, T } = extendedGram(kernels, s, h, w, mode), P = h * w;
  let worst = 0;
  for (let i = 0; i < P; i++) {
    let row = M[i * P + i] - T[i * P + i];
    for (let j = 0; j < P; j++) if (j !== i) row += Math.abs(M[i * P + j] - T[i * P + j]);
    worst = Math.max(worst, row);
  }
  return worst;
}

/** Multiply-adds above which extendedBankBound keeps 4B (about 0.1 s: 48 filters 7×7 take 2·10⁷, 32 of 13×13 6·10⁸). */
const MAX_WORK = 1e8;

/**
 * A bound on ‖𝒱E‖² for the bank 𝒱 of s×s kernels (one window per pixel of the extension E) on images of `imageShape`
 * [n, h, w, 1]:
 *   M = (𝒱E)ᵀ(𝒱E) = T + Δ,  ‖T‖ ≤ B = sup_ω Σ_c |ĉ_c(ω)|² (multiplierBound),  Δ = 0 beyond s − 1 pixels of the border,
 *   λ_max(M) ≤ B + max(0, max_i (Δ_ii + Σ_{j≠i} |Δ_ij|))   (Weyl, Gershgorin),  and ≤ ‖E‖² B = 4B.
 * Δ's rows repeat along the border, so it is formed on a min(h, 2s − 1) × min(w, 2s − 1) image: O(C·(2s)²·s⁴) flops,
 * skipped (4B) above MAX_WORK. 'valid' (E = I): B. Without a shape: 4B (every size).
 */
export function extendedBankBound(
  kernels: readonly ArrayLike<number>[], s: number, boundary: Boundary, imageShape?: readonly number[],
  /** A bound B ≥ sup_ω Σ_c |ĉ_c(ω)|² already known (default multiplierBound). */
  B = multiplierBound(kernels, s, s),
): number {
  if (boundary === 'valid') return B;
  if (!imageShape || s < 2) return 4 * B;
  const h = Math.min(imageShape[1], 2 * s - 1), w = Math.min(imageShape[2], 2 * s - 1);
  if (kernels.length * h * w * s ** 4 > MAX_WORK) return 4 * B;
  return Math.min(4 * B, (B + borderShare(kernels, s, h, w, boundary)) * (1 + 1e-9));
}
