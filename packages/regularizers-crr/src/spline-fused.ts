import { defineFusedKernel, type Tensor, type WgslPass } from '@bilevel/core';

/**
 * The spline lookups of `evaluateSpline` as one fused kernel (wasm, cpu): a JavaScript pass over the responses a
 * and the per-piece tables, read straight from backend memory (no host round-trip, GatherV2 is slow there).
 * Inputs [a, P, Q, sig, psi(, w)] with (P, Q) = (S, ΔS) for 'linear' and (S₀, dS) for 'smooth'.
 * On webgpu, WGSL passes compute the same (`splinePasses`): one thread per element for σ, σ', ψ, and a
 * two-pass block reduction (no atomics) for the slope gradient.
 */

/** Piece k (flat into the per-channel tables), fraction r ∈ [0, 1], a inside [lo, hi], and the excess b − clip(b). */
export interface Located {
  idx: Int32Array;
  frac: Float32Array;
  inside: Uint8Array;
  excess: Float32Array;
}

/** Per evaluation (one a): the located pieces, computed by the first kernel call and shared by the others. */
export interface LocateCache {
  located?: Located;
}

export const SIGMA = 0, SLOPE = 1, PSI = 2, SLOPE_GRADIENT = 3;

interface Attrs {
  /** 1 for 'smooth', 0 for 'linear'. */
  smooth: number;
  /** SIGMA, SLOPE, PSI or SLOPE_GRADIENT. */
  output: number;
  C: number;
  J: number;
  D: number;
}

/** The cache of the running call (compute runs synchronously inside runKernel, so one slot suffices). */
let running: LocateCache | undefined;

/** b = a + off clipped to [0, hi]; piece k = min(⌊b⌋, hi − 1) of channel e mod C, r = b − k. */
function locate(av: Float32Array, C: number, hi: number, off: number): Located {
  const N = av.length;
  const idx = new Int32Array(N), frac = new Float32Array(N), inside = new Uint8Array(N), excess = new Float32Array(N);
  for (let e = 0; e < N; e++) {
    const b = av[e] + off;
    const bc = b < 0 ? 0 : b > hi ? hi : b;
    let k = Math.floor(bc);
    if (k > hi - 1) k = hi - 1;
    idx[e] = (e % C) * hi + k;
    frac[e] = bc - k;
    inside[e] = b === bc ? 1 : 0;
    excess[e] = b - bc;
  }
  return { idx, frac, inside, excess };
}

/** linear: σ = sig_k + ΔS_k r;  smooth: σ = sig_k + Δ(S₀_k r + ½ dS_k r²). */
function sigmaAt(L: Located, e: number, P: Float32Array, Q: Float32Array, sig: Float32Array, smooth: boolean, D: number): number {
  const i = L.idx[e], r = L.frac[e];
  return smooth ? sig[i] + D * (P[i] * r + 0.5 * Q[i] * r * r) : sig[i] + Q[i] * r;
}

/** σ, σ' (0 outside [−T, T]) or ψ = ψ_k + Δ sig_k r + (Δ ΔS_k r²/2 | Δ²(S₀_k r²/2 + dS_k r³/6)) + σ·excess·Δ. */
function pointwise(L: Located, ins: readonly Float32Array[], out: Float32Array, { smooth, output, D }: Attrs): void {
  const [, P, Q, sig, psi] = ins;
  const s = smooth === 1, N = out.length;
  if (output === SIGMA) for (let e = 0; e < N; e++) out[e] = sigmaAt(L, e, P, Q, sig, s, D);
  else if (output === SLOPE) {
    for (let e = 0; e < N; e++) out[e] = L.inside[e] ? (s ? P[L.idx[e]] + Q[L.idx[e]] * L.frac[e] : P[L.idx[e]]) : 0;
  } else {
    for (let e = 0; e < N; e++) {
      const i = L.idx[e], r = L.frac[e];
      const inner = s
        ? psi[i] + D * sig[i] * r + D * D * (0.5 * P[i] * r * r + (Q[i] * r * r * r) / 6)
        : psi[i] + D * sig[i] * r + 0.5 * D * Q[i] * r * r;
      out[e] = inner + Math.fround(sigmaAt(L, e, P, Q, sig, s, D)) * L.excess[e] * D;
    }
  }
}

/** linear: Δ[Σ_{k>j} w + Σ_{k=j} r w − clip(J/2 − j, 0, 1) Σ w] per channel (float64 histograms). */
function linearSlopeGradient(L: Located, wv: Float32Array, out: Float64Array, C: number, J: number, D: number): void {
  const h0 = new Float64Array(C * J), h1 = new Float64Array(C * J), mid = J / 2;
  for (let e = 0; e < wv.length; e++) {
    h0[L.idx[e]] += wv[e];
    h1[L.idx[e]] += wv[e] * L.frac[e];
  }
  for (let c = 0; c < C; c++) {
    let above = 0, total = 0;
    for (let k = 0; k < J; k++) total += h0[c * J + k];
    for (let j = J - 1; j >= 0; j--) {
      const base = Math.min(Math.max(mid - j, 0), 1);
      out[c * J + j] = D * (above + h1[c * J + j] - base * total);
      above += h0[c * J + j];
    }
  }
}

/** smooth: Δ[H_j(b) − H_j(b₀)] summed with weights w, H_j the integral of the hat on nodes j, j+1, j+2. */
function smoothSlopeGradient(L: Located, wv: Float32Array, out: Float64Array, C: number, J: number, D: number): void {
  const n = J + 1, mid = J / 2;
  const h0 = new Float64Array(C * n), hA = new Float64Array(C * n), hB = new Float64Array(C * n);
  for (let e = 0; e < wv.length; e++) {
    const i = L.idx[e], r = L.frac[e], x = wv[e];
    h0[i] += x;
    hA[i] += x * (1 - 0.5 * (1 - r) * (1 - r));
    hB[i] += x * 0.5 * r * r;
  }
  for (let c = 0; c < C; c++) {
    let total = 0;
    for (let k = 0; k < n; k++) total += h0[c * n + k];
    // above[k] = Σ_{k' > k} h0
    const above = new Float64Array(n);
    for (let k = n - 2; k >= 0; k--) above[k] = above[k + 1] + h0[c * n + k + 1];
    for (let j = 0; j < J; j++) {
      const base = j < mid - 1 ? 1 : j === mid - 1 ? 7 / 8 : j === mid ? 1 / 8 : 0;
      out[c * J + j] = D * (above[j + 1] + hA[c * n + j + 1] + hB[c * n + j] - base * total);
    }
  }
}

/** Inputs by WGSL name, in kernel input order. */
const NAMES = ['a', 'p', 'q', 'sig', 'psi', 'w'];

/** Responses per block of one slope-gradient partial sum (pass 1 of 2). */
const BLOCK = 256;

/**
 * WGSL: the piece of element e (channel e mod C): b = a_e + off, bc = clip(b, 0, hi), k = min(⌊bc⌋, hi − 1),
 * r = bc − k, flat table index i = (e mod C) hi + k. Uniforms: blc = C, blhi = hi, bloff = off, bld = Δ.
 */
const LOCATE = `
fn bl_b(e : i32) -> f32 { return a[e] + uniforms.bloff; }
fn bl_bc(b : f32) -> f32 { return clamp(b, 0.0, f32(uniforms.blhi)); }
fn bl_k(bc : f32) -> i32 { return min(i32(floor(bc)), uniforms.blhi - 1); }`;

/** WGSL expressions of σ, σ' and ψ at (i, r, b, bc) for 'linear' or 'smooth' (the formulas of `pointwise`). */
function pointwiseCode(smooth: boolean, output: number): { names: string[]; value: string } {
  const sigma = smooth ? 'sig[i] + D * (p[i] * r + 0.5 * q[i] * r * r)' : 'sig[i] + q[i] * r';
  if (output === SIGMA) return { names: smooth ? ['a', 'p', 'q', 'sig'] : ['a', 'q', 'sig'], value: sigma };
  if (output === SLOPE) return { names: smooth ? ['a', 'p', 'q'] : ['a', 'p'], value: `select(0.0, ${smooth ? 'p[i] + q[i] * r' : 'p[i]'}, b == bc)` };
  const inner = smooth
    ? 'psi[i] + D * sig[i] * r + D * D * (0.5 * p[i] * r * r + q[i] * r * r * r / 6.0)'
    : 'psi[i] + D * sig[i] * r + 0.5 * D * q[i] * r * r';
  return { names: smooth ? ['a', 'p', 'q', 'sig', 'psi'] : ['a', 'q', 'sig', 'psi'], value: `${inner} + (${sigma}) * (b - bc) * D` };
}

/**
 * WGSL weight of response e in the slope gradient entry j (times Δ, summed over e of channel c):
 *   linear: [k > j] + [k = j] r − clip(J/2 − j, 0, 1);
 *   smooth: [k > j+1] + [k = j+1](1 − (1 − r)²/2) + [k = j] r²/2 − base_j, base_j = 1, 7/8, 1/8, 0 below, at, past the middle.
 */
function slopeWeight(smooth: boolean): string {
  if (!smooth) return 'select(0.0, 1.0, k > j) + select(0.0, r, k == j) - clamp(mid - f32(j), 0.0, 1.0)';
  const base = 'select(select(select(0.0, 0.125, f32(j) == mid), 0.875, f32(j) == mid - 1.0), 1.0, f32(j) < mid - 1.0)';
  return `select(0.0, 1.0, k > j + 1) + select(0.0, 1.0 - 0.5 * (1.0 - r) * (1.0 - r), k == j + 1) + select(0.0, 0.5 * r * r, k == j) - ${base}`;
}

/** Uniform declarations and values shared by the spline passes. */
function splineUniforms(shape: readonly number[], { smooth, C, J, D }: Attrs): Pick<WgslPass, 'uniforms' | 'uniformData'> {
  const hi = smooth ? J + 1 : J;
  return {
    uniforms: 'blc : i32, blhi : i32, blj : i32, blrows : i32, bloff : f32, bld : f32,',
    uniformData: [
      ...[C, hi, J, shape.reduce((x, y) => x * y, 1) / C].map((v) => ({ type: 'int32' as const, data: [v] })),
      ...[smooth ? 0.5 : 0, D].map((v) => ({ type: 'float32' as const, data: [v] })),
    ],
  };
}

/** The WGSL passes of one spline output: one for σ, σ', ψ; two (block partials, then their sum) for the slope gradient. */
function splinePasses(shape: readonly number[], attrs: Attrs): WgslPass | WgslPass[] {
  const { smooth, output, C, J } = attrs;
  const pre = `let D = uniforms.bld;
    let mid = f32(uniforms.blj) / 2.0;`;
  if (output !== SLOPE_GRADIENT) {
    const { names, value } = pointwiseCode(smooth === 1, output);
    return {
      shaderKey: `BilevelCrrSpline_${smooth}_${output}`, variableNames: names, reads: names.map((n) => NAMES.indexOf(n)),
      outShape: [...shape], helpers: LOCATE, ...splineUniforms(shape, attrs),
      main: `${pre}
    let b = bl_b(index);
    let bc = bl_bc(b);
    let k = bl_k(bc);
    let r = bc - f32(k);
    let i = (index % uniforms.blc) * uniforms.blhi + k;
    setOutputAtIndex(index, ${value});`,
    };
  }
  const rows = shape.reduce((x, y) => x * y, 1) / C, blocks = Math.max(1, Math.ceil(rows / BLOCK));
  // Pass 1: thread (block, c, j) sums w_e · weight over the rows of its block; pass 2: Δ Σ_blocks.
  const partial: WgslPass = {
    shaderKey: `BilevelCrrSplineSlopeGradPartial_${smooth}`, variableNames: ['a', 'w'], reads: [0, 5],
    outShape: [blocks, C * J], helpers: LOCATE, ...splineUniforms(shape, attrs),
    main: `${pre}
    let cj = index % (uniforms.blc * uniforms.blj);
    let c = cj / uniforms.blj;
    let j = cj % uniforms.blj;
    let row0 = (index / (uniforms.blc * uniforms.blj)) * ${BLOCK};
    var acc = 0.0;
    for (var row = row0; row < min(row0 + ${BLOCK}, uniforms.blrows); row = row + 1) {
      let e = row * uniforms.blc + c;
      let bc = bl_bc(bl_b(e));
      let k = bl_k(bc);
      let r = bc - f32(k);
      acc = acc + w[e] * (${slopeWeight(smooth === 1)});
    }
    setOutputAtIndex(index, acc);`,
  };
  const total: WgslPass = {
    shaderKey: 'BilevelCrrSplineSlopeGradSum', variableNames: ['partial'], reads: [6], outShape: [C, J],
    uniforms: 'blblocks : i32, bld : f32,', uniformData: [{ type: 'int32', data: [blocks] }, { type: 'float32', data: [attrs.D] }],
    main: `
    var acc = 0.0;
    for (var blk = 0; blk < uniforms.blblocks; blk = blk + 1) { acc = acc + partial[blk * uniforms.outShape.x * uniforms.outShape.y + index]; }
    setOutputAtIndex(index, uniforms.bld * acc);`,
  };
  return [partial, total];
}

const splineKernel = defineFusedKernel<Attrs>({
  name: 'BilevelCrrSpline',
  webgpu: ([shape], attrs): WgslPass | WgslPass[] => splinePasses(shape, attrs),
  outShape: ([shape], { output, C, J }) => (output === SLOPE_GRADIENT ? [C, J] : [...shape]),
  compute: (ins, out, _shapes, attrs) => {
    const { smooth, output, C, J, D } = attrs;
    const cache = running ?? {};
    const L = (cache.located ??= locate(ins[0], C, smooth ? J + 1 : J, smooth ? 0.5 : 0));
    if (output !== SLOPE_GRADIENT) return pointwise(L, ins, out, attrs);
    const g = new Float64Array(C * J);
    (smooth ? smoothSlopeGradient : linearSlopeGradient)(L, ins[5], g, C, J, D);
    out.set(g);
  },
});

/** Runs one output of the fused spline (undefined where fused kernels are off or unavailable). */
export function runSplineKernel<T extends Tensor>(cache: LocateCache, inputs: readonly Tensor[], attrs: Attrs): T | undefined {
  running = cache;
  try {
    return splineKernel<T>(inputs, attrs);
  } finally {
    running = undefined;
  }
}
