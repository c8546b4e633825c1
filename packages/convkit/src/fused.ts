import { defineFusedKernel, type Tensor, type tf, type WgslPass } from '@bilevel/core';

interface Attrs {
  /** 0: φ'(t) = t/√(t² + 1); 1: φ''(t) v = v (t² + 1)^{−3/2}. */
  second: number;
  /** 1 when the last input is a [rows, 1] 0/1 mask of valid windows. */
  masked: number;
}

/**
 * WGSL for the activation, one thread per element e of t (K = t's last dimension, row r = ⌊e/K⌋):
 * out_e = 0 where mask_r = 0, else t_e q (φ') or v_e q³ (φ''), q = 1/√(t_e² + 1).
 */
function activationPass(shape: readonly number[], { second, masked }: Attrs): WgslPass {
  const value = second ? 'v[index] * q * q * q' : 't[index] * q';
  const main = `
    let q = inverseSqrt(t[index] * t[index] + 1.0);
    var out = ${value};
    ${masked ? 'if (mask[index / uniforms.blk] == 0.0) { out = 0.0; }' : ''}
    setOutputAtIndex(index, out);`;
  return {
    shaderKey: `BilevelFoeActivation_${second}_${masked}`, outShape: [...shape], main,
    variableNames: ['t', ...(second ? ['v'] : []), ...(masked ? ['mask'] : [])],
    uniforms: masked ? 'blk : i32,' : undefined,
    uniformData: masked ? [{ type: 'int32', data: [shape[shape.length - 1]] }] : undefined,
  };
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
  webgpu: ([shape], attrs) => activationPass(shape, attrs),
});

/** m φ'(t) fused (wasm, cpu, webgpu), or undefined where the composite path must run. */
export function fusedGradActivation(t: Tensor, mask: Tensor | undefined): tf.Tensor2D | undefined {
  return activationKernel<tf.Tensor2D>(mask ? [t, mask] : [t], { second: 0, masked: mask ? 1 : 0 });
}

/** m φ''(t) v fused (wasm, cpu, webgpu), or undefined where the composite path must run. */
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
/**
 * WGSL for the patch adjoint, one thread per output pixel (b, y, x) gathering its ≤ s² window taps (no scatter):
 * out = Σ_{i,j} T[((b(h + 2) + y − i) w + x − j) s² + i s + j] over 0 ≤ y − i ≤ h − s, 0 ≤ x − j ≤ w − s.
 */
function foldPass({ n, h, w, s }: FoldAttrs): WgslPass {
  const main = `
    let W = uniforms.outShape.z;
    let H = uniforms.outShape.y;
    let s = uniforms.bls;
    let s2 = s * s;
    let x = index % W;
    let y = (index / W) % H;
    let b = index / (W * H);
    var acc = 0.0;
    for (var i = max(0, y - (H - s)); i <= min(s - 1, y); i = i + 1) {
      let row = ((b * (H + 2) + y - i) * W + x) * s2 + i * s;
      for (var j = max(0, x - (W - s)); j <= min(s - 1, x); j = j + 1) {
        acc = acc + patches[row - j * s2 + j];
      }
    }
    setOutputAtIndex(index, acc);`;
  return {
    shaderKey: 'BilevelFoePatchAdjoint', variableNames: ['patches'], outShape: [n, h, w, 1], main,
    uniforms: 'bls : i32,', uniformData: [{ type: 'int32', data: [s] }],
  };
}

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
  webgpu: (_, attrs) => foldPass(attrs),
});

/** Σ_{i,j} T[m − i·w − j, (i, j)] as [n, h, w, 1] fused (wasm, cpu, webgpu), or undefined where the composite path must run. */
export function fusedPatchAdjoint<T extends tf.Tensor>(T: Tensor, n: number, h: number, w: number, s: number): T | undefined {
  return foldKernel<T>([T], { n, h, w, s });
}
