import { tf, type Tensor } from '@bilevel/core';
import { PSI, runSplineKernel, SIGMA, SLOPE, SLOPE_GRADIENT, type LocateCache } from './spline-fused.js';

/**
 * Monotone activations σ_c with σ_c(0) = 0 on J uniform pieces of width Δ covering [−T, T], parameterized by
 * per-piece slopes S_{c,j} = e^{θ_{c,j}} ≥ 0, evaluated in units a = t/Δ + J/2 (a ∈ [0, J] ⟺ t ∈ [−T, T]).
 * Each returns σ, σ' (per unit t), ψ = ∫₀ᵗ σ, and Σ_t w ∂σ(t)/∂S_j (for the mixed product).
 *
 * 'linear': the paper's linear spline, σ' = S_j on piece j, 0 beyond ±T (σ constant there). ψ ∈ C¹ only:
 *   ∇²R exists almost everywhere (jumps at the knots).
 * 'smooth': the same spline averaged over one knot spacing (σ ∗ 1_{[−Δ/2, Δ/2]}/Δ): σ' interpolates the slopes
 *   linearly between the piece midpoints (0 half a piece beyond ±T), σ ∈ C¹ piecewise quadratic, ψ ∈ C² —
 *   a Lipschitz Hessian, as implicit differentiation and MAID's error bounds assume.
 */
export type SplineKind = 'linear' | 'smooth';

export interface SplineTables {
  /** Slopes S [C, J]. */
  readonly S: tf.Tensor2D;
  readonly C: number;
  readonly J: number;
  /** Flat [C·n] tables used by `evaluate`. */
  readonly tabs: Record<string, Tensor>;
}

export interface SplineEval {
  sigma(): Tensor;
  slope(): Tensor;
  psi(): Tensor;
  /** Σ_t w_t ∂σ_c(t)/∂S_{c,j} as [C, J] (w must vanish off the valid windows). */
  slopeGradient(w: Tensor): Tensor;
}

function centerAt(cum: Tensor, C: number, col: number): Tensor {
  return tf.sub(cum, tf.slice(cum, [0, col], [C, 1]));
}

/** Piece index (flat into per-channel tables of `n` entries), fraction r ∈ [0, 1], and whether a was inside [lo, hi]. */
function locate(a: Tensor, C: number, hi: number, n: number) {
  const ac = tf.clipByValue(a, 0, hi);
  const k = tf.minimum(tf.floor(ac), hi - 1);
  const r = tf.sub(ac, k);
  const idx = tf.add(tf.cast(k, 'int32'), tf.reshape(tf.range(0, C * n, n, 'int32'), [1, C]));
  return { ac, r, idx };
}

const gather = (tab: Tensor, idx: Tensor) => tf.gather(tab, idx);

/** Reverse exclusive cumulative sum along the pieces: Σ_{k' > k} h[k']. */
const above = (h: Tensor) => tf.cumsum(h, 1, true, true);

export function splineTables(kind: SplineKind, logSlopes: Tensor, C: number, J: number, D: number): SplineTables {
  const S = tf.reshape(tf.exp(logSlopes), [C, J]) as tf.Tensor2D;
  const mid = J / 2;
  if (kind === 'linear') {
    const DS = tf.mul(S, D);
    const sig = centerAt(tf.cumsum(DS, 1, true), C, mid); // σ(τ_k)
    const psi = centerAt(tf.cumsum(tf.add(tf.mul(sig, D), tf.mul(DS, D / 2)), 1, true), C, mid); // ψ(τ_k)
    return { S, C, J, tabs: { S: tf.reshape(S, [-1]), DS: tf.reshape(DS, [-1]), sig: tf.reshape(sig, [-1]), psi: tf.reshape(psi, [-1]) } };
  }
  // Nodes b = 0..J+1 (b = a + ½), slope values Ŝ = [0, S_0, …, S_{J−1}, 0]; pieces k = 0..J between nodes.
  const Sh = tf.pad(S, [[0, 0], [1, 1]]); // [C, J + 2]
  const S0 = tf.slice(Sh, [0, 0], [C, J + 1]), S1 = tf.slice(Sh, [0, 1], [C, J + 1]);
  const dS = tf.sub(S1, S0);
  // Raw node values of σ (from b = 0) and their value c at b₀ = J/2 + ½ (piece J/2, r = ½).
  const sigRaw = tf.cumsum(tf.mul(tf.add(S0, S1), D / 2), 1, true); // [C, J + 1]
  const at = (t: Tensor) => tf.slice(t, [0, mid], [C, 1]);
  const c = tf.add(at(sigRaw), tf.mul(tf.add(tf.mul(at(S0), 0.5), tf.mul(at(dS), 1 / 8)), D));
  const sig = tf.sub(sigRaw, c);
  // ψ node values from the centred σ, then centred so that ψ(b₀) = 0.
  const psiRaw = tf.cumsum(tf.add(tf.mul(sig, D), tf.mul(tf.add(tf.mul(S0, 2), S1), (D * D) / 6)), 1, true);
  const psiB0 = tf.add(tf.add(at(psiRaw), tf.mul(at(sig), D / 2)), tf.mul(tf.add(tf.mul(at(S0), 1 / 8), tf.mul(at(dS), 1 / 48)), D * D));
  const psi = tf.sub(psiRaw, psiB0);
  const flat = (t: Tensor) => tf.reshape(t, [-1]);
  return { S, C, J, tabs: { S0: flat(S0), dS: flat(dS), sig: flat(sig), psi: flat(psi) } };
}

/** Backends with the fused spline kernel (spline-fused.ts): a JavaScript loop on wasm/cpu (GatherV2 is slow there), WGSL on webgpu. */
export function lookupInJs(): boolean {
  const b = tf.getBackend();
  return b === 'wasm' || b === 'cpu' || b === 'webgpu';
}

/**
 * σ, σ', ψ and the slope gradient at responses a (units of Δ, offset J/2), [rows, C] (channel fastest): by
 * tf ops with tf.gather, or (`js`, the default on wasm/cpu) by one fused JavaScript pass over the responses in
 * backend memory (spline-fused.ts; the gather path where fused kernels are switched off).
 */
export function evaluateSpline(kind: SplineKind, T: SplineTables, a: Tensor, D: number, js = lookupInJs()): SplineEval {
  return js ? evaluateFused(kind, T, a, D) : evaluateWithGather(kind, T, a, D);
}

/** The same piecewise formulas as `evaluateWithGather`, element by element (the pieces located once per a, each output on demand). */
function evaluateFused(kind: SplineKind, T: SplineTables, a: Tensor, D: number): SplineEval {
  const { C, J, tabs } = T;
  const tables = kind === 'linear' ? [tabs.S, tabs.DS, tabs.sig, tabs.psi] : [tabs.S0, tabs.dS, tabs.sig, tabs.psi];
  const cache: LocateCache = {};
  let gathered: SplineEval | undefined;
  const fallback = () => (gathered ??= evaluateWithGather(kind, T, a, D));
  const run = (output: number, w?: Tensor) =>
    runSplineKernel(cache, w ? [a, ...tables, w] : [a, ...tables], { smooth: kind === 'linear' ? 0 : 1, output, C, J, D });
  return {
    sigma: () => run(SIGMA) ?? fallback().sigma(),
    slope: () => run(SLOPE) ?? fallback().slope(),
    psi: () => run(PSI) ?? fallback().psi(),
    slopeGradient: (w) => run(SLOPE_GRADIENT, w) ?? fallback().slopeGradient(w),
  };
}

function evaluateWithGather(kind: SplineKind, T: SplineTables, a: Tensor, D: number): SplineEval {
  const { C, J, tabs } = T;
  if (kind === 'linear') {
    const { ac, r, idx } = locate(a, C, J, J);
    const sigK = gather(tabs.sig, idx), dsK = gather(tabs.DS, idx);
    const sigma = tf.add(sigK, tf.mul(dsK, r));
    return {
      sigma: () => sigma,
      slope: () => tf.mul(gather(tabs.S, idx), tf.cast(tf.equal(a, ac), 'float32')),
      psi: () => tf.add(tf.add(gather(tabs.psi, idx), tf.mul(sigK, tf.mul(r, D))), tf.add(tf.mul(dsK, tf.mul(tf.square(r), D / 2)), tf.mul(sigma, tf.mul(tf.sub(a, ac), D)))),
      slopeGradient: (w) => {
        // ∂σ/∂S_j = Δ[clip(a − j, 0, 1) − clip(J/2 − j, 0, 1)].
        const flatIdx = tf.reshape(idx, [-1]) as tf.Tensor1D;
        const h0 = tf.reshape(tf.bincount(flatIdx, tf.reshape(w, [-1]) as tf.Tensor1D, C * J), [C, J]);
        const h1 = tf.reshape(tf.bincount(flatIdx, tf.reshape(tf.mul(w, r), [-1]) as tf.Tensor1D, C * J), [C, J]);
        const base = tf.tensor1d(Array.from({ length: J }, (_, j) => Math.min(Math.max(J / 2 - j, 0), 1)));
        const total = tf.reshape(tf.sum(h0, 1), [C, 1]);
        return tf.mul(tf.sub(tf.add(above(h0), h1), tf.mul(total, base)), D);
      },
    };
  }
  const b = tf.add(a, 0.5);
  const { ac: bc, r, idx } = locate(b, C, J + 1, J + 1);
  const s0 = gather(tabs.S0, idx), ds = gather(tabs.dS, idx), sigK = gather(tabs.sig, idx);
  const r2 = tf.square(r);
  const sigma = tf.add(sigK, tf.mul(tf.add(tf.mul(s0, r), tf.mul(ds, tf.mul(r2, 0.5))), D));
  return {
    sigma: () => sigma,
    slope: () => tf.mul(tf.add(s0, tf.mul(ds, r)), tf.cast(tf.equal(b, bc), 'float32')),
    psi: () => {
      const cubic = tf.add(tf.mul(s0, tf.mul(r2, 0.5)), tf.mul(ds, tf.mul(tf.mul(r2, r), 1 / 6)));
      const inside = tf.add(tf.add(gather(tabs.psi, idx), tf.mul(sigK, tf.mul(r, D))), tf.mul(cubic, D * D));
      return tf.add(inside, tf.mul(sigma, tf.mul(tf.sub(b, bc), D)));
    },
    slopeGradient: (w) => {
      // ∂σ/∂S_j = Δ[H_j(b) − H_j(b₀)], H_j the integral of the hat on nodes j, j+1, j+2:
      // H_j = 1 on pieces k > j+1, 1 − (1 − r)²/2 on k = j+1, r²/2 on k = j, 0 below.
      const n = J + 1;
      const flatIdx = tf.reshape(idx, [-1]) as tf.Tensor1D;
      const hist = (weights: Tensor) => tf.reshape(tf.bincount(flatIdx, tf.reshape(weights, [-1]) as tf.Tensor1D, C * n), [C, n]);
      const h0 = hist(w);
      const hA = hist(tf.mul(w, tf.sub(1, tf.mul(tf.square(tf.sub(1, r)), 0.5))));
      const hB = hist(tf.mul(w, tf.mul(r2, 0.5)));
      const up = above(h0); // Σ_{k' > k}
      const next = (t: Tensor) => tf.slice(t, [0, 1], [C, J]); // column j + 1
      const Hw = tf.add(tf.add(next(up), next(hA)), tf.slice(hB, [0, 0], [C, J]));
      const mid = J / 2;
      const base = tf.tensor1d(Array.from({ length: J }, (_, j) => (j < mid - 1 ? 1 : j === mid - 1 ? 7 / 8 : j === mid ? 1 / 8 : 0)));
      const total = tf.reshape(tf.sum(h0, 1), [C, 1]);
      return tf.mul(tf.sub(Hw, tf.mul(total, base)), D);
    },
  };
}
