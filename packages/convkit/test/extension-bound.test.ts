import { describe, expect, it } from 'vitest';
import { tf, type ImageBatch } from '@bilevel/core';
import { derivativeFilters, extendedBankBound, filterBank, multiplierBound, Rng, type Boundary } from '@bilevel/convkit';
import { borderShare, extendedGram } from '../src/extension-bound.js';

const randomKernels = (C: number, s: number, seed: number) => {
  const rng = new Rng(seed, 5);
  return Array.from({ length: C }, () => Float64Array.from({ length: s * s }, () => rng.normal()));
};

/** (𝒱E)ᵀ(𝒱E) of the filter bank itself, column by column: ⟨𝒱E e_p, 𝒱E e_q⟩. */
async function bankGram(kernels: Float64Array[], s: number, h: number, w: number, boundary: Boundary): Promise<Float64Array> {
  const P = h * w, bank = filterBank(s, 'native', boundary);
  const R = tf.tidy(() => {
    const basis = tf.reshape(tf.eye(P), [P, h, w, 1]) as ImageBatch;
    const V = tf.tensor2d(kernels.flatMap((k) => Array.from(k)), [kernels.length, s * s]);
    const U = bank.respond(bank.prepare(basis), V); // [P · windows, C]
    const A = tf.reshape(U, [P, -1]);
    return tf.matMul(A, A, false, true);
  });
  const out = Float64Array.from(await R.data());
  R.dispose();
  return out;
}

/** λ_max of a dense symmetric matrix by power iteration (to 1e-9). */
function lambdaMax(M: Float64Array, P: number): number {
  let v = Float64Array.from({ length: P }, (_, i) => 1 + ((i * 7919) % 13) / 13), lam = 0;
  for (let it = 0; it < 5000; it++) {
    const u = new Float64Array(P);
    for (let i = 0; i < P; i++) for (let j = 0; j < P; j++) u[i] += M[i * P + j] * v[j];
    const n = Math.hypot(...u);
    if (Math.abs(n - lam) < 1e-12 * n) return n;
    lam = n;
    v = u.map((x) => x / n);
  }
  return lam;
}

describe('extendedBankBound: ‖𝒱E‖² with the border worked out', () => {
  for (const [s, h, w, mode] of [[3, 7, 6, 'symmetric'], [4, 9, 8, 'reflect'], [5, 6, 11, 'symmetric'], [3, 4, 5, 'reflect']] as const) {
    it(`s = ${s}, ${h}×${w}, ${mode}: M is the bank's Gram matrix, and the bound holds its largest eigenvalue`, async () => {
      const kernels = randomKernels(3, s, s * 100 + h);
      const { M } = extendedGram(kernels, s, h, w, mode);
      const G = await bankGram(kernels, s, h, w, mode);
      const scale = Math.max(...G.map(Math.abs));
      expect(Math.max(...M.map((m, i) => Math.abs(m - G[i])))).toBeLessThan(1e-5 * scale);
      const bound = extendedBankBound(kernels, s, mode, [1, h, w, 1]);
      expect(bound).toBeGreaterThanOrEqual(lambdaMax(G, h * w) * (1 - 1e-6));
      expect(bound).toBeLessThanOrEqual(4 * multiplierBound(kernels, s, s) * (1 + 1e-6));
    });
  }

  for (const [s, mode] of [[3, 'symmetric'], [4, 'reflect'], [5, 'reflect']] as const) {
    it(`s = ${s}, ${mode}, large images: the reduced (2s − 1)² image gives the whole image's border share, and the bound holds`, async () => {
      const kernels = randomKernels(2, s, 9 + s), [h, w] = [3 * s + 2, 3 * s + 1];
      const B = multiplierBound(kernels, s, s);
      const bound = extendedBankBound(kernels, s, mode, [1, h, w, 1]);
      console.log(`s = ${s} ${mode}: bound/B = ${(bound / B).toFixed(3)}`);
      if (bound < 4 * B * (1 - 1e-6)) expect(bound).toBeCloseTo((B + borderShare(kernels, s, h, w, mode)) * (1 + 1e-9), 6);
      expect(bound).toBeGreaterThanOrEqual(lambdaMax(await bankGram(kernels, s, h, w, mode), h * w) * (1 - 1e-6));
    });
  }

  it('± pairs of differences with the symmetric boundary: B itself, not 4B (no difference across the border)', () => {
    const d = derivativeFilters(5, 2);
    const kernels = d.flatMap((c) => [c, c.map((v) => -v)]);
    const B = multiplierBound(kernels, 5, 5);
    const bound = extendedBankBound(kernels, 5, 'symmetric', [4, 128, 128, 1]);
    console.log(`± differences 5×5 symmetric: ‖𝒱E‖² bound ${bound.toFixed(4)} against B = ${B.toFixed(4)} (former 4B = ${(4 * B).toFixed(4)})`);
    expect(bound).toBeLessThanOrEqual(B * 1.0001);
    expect(extendedBankBound(kernels, 5, 'symmetric')).toBeCloseTo(4 * B, 8);
    expect(extendedBankBound(kernels, 5, 'valid', [4, 128, 128, 1])).toBeCloseTo(B, 8);
  });
});
