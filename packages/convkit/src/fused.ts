import { defineFusedKernel, type Tensor, type tf } from '@bilevel/core';

interface Attrs {
  /** 0: φ'(t) = t/√(t² + 1); 1: φ''(t) v = v (t² + 1)^{−3/2}. */
  second: number;
  /** 1 when the last input is a [rows, 1] 0/1 mask of valid windows. */
  masked: number;
}

/** One pass over t [rows, K] (and v, mask): m_r φ'(t_rk) or m_r φ''(t_rk) v_rk, φ(t) = √(t² + 1). */
const activationKernel = defineFusedKernel<Attrs>({
  name: 'BilevelFoeActivation',
  outShape: ([shape]) => [...shape],
  compute: (inputs, out, [shape], { second, masked }) => {
    const t = inputs[0], v = second ? inputs[1] : undefined, mask = masked ? inputs[inputs.length - 1] : undefined;
    const [rows, K] = shape;
    for (let r = 0; r < rows; r++) {
      const o = r * K;
      if (mask && mask[r] === 0) {
        out.fill(0, o, o + K);
        continue;
      }
      if (v) {
        for (let k = o; k < o + K; k++) {
          const u = t[k], q = 1 / Math.sqrt(u * u + 1);
          out[k] = v[k] * q * q * q;
        }
      } else {
        for (let k = o; k < o + K; k++) {
          const u = t[k];
          out[k] = u / Math.sqrt(u * u + 1);
        }
      }
    }
  },
});

/** m φ'(t) fused (wasm, cpu), or undefined where the composite path must run. */
export function fusedGradActivation(t: Tensor, mask: Tensor | undefined): tf.Tensor2D | undefined {
  return activationKernel<tf.Tensor2D>(mask ? [t, mask] : [t], { second: 0, masked: mask ? 1 : 0 });
}

/** m φ''(t) v fused (wasm, cpu), or undefined where the composite path must run. */
export function fusedHessActivation(t: Tensor, v: Tensor, mask: Tensor | undefined): tf.Tensor2D | undefined {
  return activationKernel<tf.Tensor2D>(mask ? [t, v, mask] : [t, v], { second: 1, masked: mask ? 1 : 0 });
}

interface FoldAttrs {
  n: number;
  h: number;
  w: number;
  s: number;
}

/**
 * The patch adjoint (col2im) in one pass: out[b, p + i, q + j] += T[m(b, p, q), i·s + j] over the valid windows
 * (p ≤ h − s, q ≤ w − s) of the PatchGeometry grid m = (b(h + 2) + p) w + q; T [M, s²] is read row by row.
 */
const foldKernel = defineFusedKernel<FoldAttrs>({
  name: 'BilevelFoePatchAdjoint',
  outShape: (_, { n, h, w }) => [n, h, w, 1],
  compute: ([T], out, _, { n, h, w, s }) => {
    out.fill(0);
    const s2 = s * s, hg = h + 2;
    for (let b = 0; b < n; b++) for (let p = 0; p <= h - s; p++) for (let q = 0; q <= w - s; q++) {
      const row = ((b * hg + p) * w + q) * s2;
      for (let i = 0; i < s; i++) {
        const o = (b * h + p + i) * w + q, r = row + i * s;
        for (let j = 0; j < s; j++) out[o + j] += T[r + j];
      }
    }
  },
});

/** Σ_{i,j} T[m − i·w − j, (i, j)] as [n, h, w, 1] fused (wasm, cpu), or undefined where the composite path must run. */
export function fusedPatchAdjoint<T extends tf.Tensor>(T: Tensor, n: number, h: number, w: number, s: number): T | undefined {
  return foldKernel<T>([T], { n, h, w, s });
}
