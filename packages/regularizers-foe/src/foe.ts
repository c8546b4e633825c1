import { tf, type Curvature, type ImageBatch, type ParameterLayout, type Regularizer, type Scalar, type Tensor, type Tensor1D } from '@bilevel/core';
import {
  byChunks, dctAtoms, derivativeFilters, extendedBankBound, filterBank, fusedGradActivation, fusedHessActivation, imagesPerChunk, INIT_SALT, l1,
  multiplierBound, Rng, shapeCache, xavierNormal, type Boundary, type ConvEngineName, type FilterBank, type Prepared,
} from '@bilevel/convkit';

export interface FoeOptions {
  /** Number of filters K. */
  filters: number;
  /** Filter size s (s×s taps). */
  size: number;
  /** Keep filters zero-mean: c_k = P(raw_k), P removing the mean (the gradient is projected the same way). */
  zeroMean: boolean;
  /** Convolution layout: 'auto' picks 'patches' on wasm/cpu and 'native' conv2d elsewhere. */
  engine: ConvEngineName | 'auto';
  /** Windows at the border: 'reflect' (default, as the MAID reference: one window per pixel on the mirror-extended image), 'symmetric', or 'valid'. */
  boundary: Boundary;
  /**
   * Filter initialisation: 'xavier' (the reference: Xavier-normal, mean removed, seeded); 'dct' (the K lowest
   * non-constant 2-D DCT atoms, unit norm); 'derivatives' (unit-norm finite differences: first order along
   * 0°, 90°, 45°, 135°, second order along rows and columns, mixed, Laplacian). Xavier fills the filters beyond.
   */
  init: 'xavier' | 'dct' | 'derivatives';
  /** Initial θ₀ (log global weight), θ_1..K (log weights) and θ_{K+1..2K} (log smoothing); the reference is −3, −3, −3.5. */
  initScale: number;
  initWeight: number;
  initSmoothing: number;
  /**
   * Filters are c_k = filterScale · θ_{filters,k} (default 1, the reference). A smaller scale is a diagonal
   * preconditioner for first-order outer optimizers: the filter block's gradient shrinks by the scale and its
   * curvature by the square, so log-weights and filters move at comparable rates. initialTheta divides the
   * filter block by the scale, so the initial filters c are the same for every scale.
   */
  filterScale: number;
}

export const FOE_DEFAULTS: FoeOptions = { filters: 48, size: 7, zeroMean: false, engine: 'auto', boundary: 'reflect', init: 'xavier', initScale: -3, initWeight: -3, initSmoothing: -3.5, filterScale: 1 };

/** Parameter count 1 + 2K + K s². */
export function foeParameterCount(K: number, s: number): number {
  return 1 + 2 * K + K * s * s;
}

/**
 * Fields of Experts in the reference parameterization of the MAID paper:
 *   R_θ(x) = e^{θ₀} Σ_k e^{θ_k} Σ_windows √((c_k ∗ x)² + ν_k²),   ν_k = e^{θ_{K+k}},
 * θ = [θ₀ | θ_1..θ_K | θ_{K+1}..θ_{2K} | c_1 … c_K (s² taps each, row-major)]. Windows: one per pixel on the
 * image mirror-extended by (s−1) pixels ('reflect', the reference's padding_mode; or 'symmetric'), or only the
 * windows inside the image ('valid'); C = (valid correlation)∘E and Cᵀ = Eᵀ∘(its exact adjoint).
 *
 * With a = e^{θ₀}, w_k = e^{θ_k}, u = C x, t = u/ν, r = (1 + t²)^{−½}:
 *   φ(u) = ν/r,  φ'(u) = t r,  φ''(u) = r³/ν,
 *   ∇ₓR   = Cᵀ(a w ⊙ t r),
 *   ∇²ₓR v = Cᵀ(a w ⊙ r³ ⊙ s),   s = (C v)/ν,
 *   ∂θ₀ ⟨∇ₓR, v⟩ = Σ_k a w_k ν_k ⟨t r, s⟩_k,   ∂θ_k = a w_k ν_k ⟨t r, s⟩_k,   ∂θ_{K+k} = −a w_k ν_k ⟨t r³, s⟩_k,
 *   ∂c_k ⟨∇ₓR, v⟩ = a w_k [ Σ_windows r³ s · patch(x) + t r · patch(v) ]   (then projected if zeroMean).
 * Every product is closed form: the only tensor ops are matrix products / convolutions, sqrt and rsqrt.
 * R is convex (φ convex, weights positive): μ = 0 and L ≤ ‖E‖² a sup_ω Σ_k (w_k/ν_k) |ĉ_k(ω)|²  (see `curvature`).
 */
export class FieldsOfExperts implements Regularizer {
  readonly name = 'foe';
  readonly layout: ParameterLayout;
  readonly options: FoeOptions;
  private readonly bank: FilterBank;
  private readonly bounds = shapeCache((theta, imageShape) => this.computeCurvature(theta, imageShape));

  constructor(options: Partial<FoeOptions> = {}) {
    this.options = { ...FOE_DEFAULTS, ...options };
    const { filters: K, size: s } = this.options;
    this.layout = {
      size: foeParameterCount(K, s),
      blocks: [
        { name: 'logScale', offset: 0, shape: [1] },
        { name: 'logWeights', offset: 1, shape: [K] },
        { name: 'logSmoothing', offset: 1 + K, shape: [K] },
        { name: 'filters', offset: 1 + 2 * K, shape: [K, s, s] },
      ],
    };
    this.bank = filterBank(s, this.options.engine, this.options.boundary);
  }

  /** Reference: θ₀ = θ_1..K = −3, θ_{K+1..2K} = −3.5, filters Xavier-normal with the mean removed (seeded); see the init options. */
  initialTheta(seed: number): Float32Array {
    const { filters: K, size: s, init, initScale, initWeight, initSmoothing } = this.options;
    const theta = new Float32Array(this.layout.size);
    theta[0] = initScale;
    theta.fill(initWeight, 1, 1 + K);
    theta.fill(initSmoothing, 1 + K, 1 + 2 * K);
    xavierNormal(theta, 1 + 2 * K, K, s * s, 1, new Rng(seed, INIT_SALT), true);
    if (init === 'dct') dctAtoms(s, K).forEach((a, k) => theta.set(a, 1 + 2 * K + k * s * s));
    if (init === 'derivatives') {
      if (s < 3) throw new Error('init "derivatives" needs filters of size ≥ 3');
      derivativeFilters(s, K).forEach((a, k) => theta.set(a, 1 + 2 * K + k * s * s));
    }
    const xi = this.options.filterScale;
    if (xi !== 1) for (let i = 1 + 2 * K; i < theta.length; i++) theta[i] /= xi;
    return theta;
  }

  /** a w_k (K), ν_k (K), the filters C [K, s²] (projected), F = C/ν (responses t = F x), A = (a w) C (adjoint). */
  private params(theta: Tensor1D) {
    const { filters: K, size: s } = this.options;
    const a = tf.exp(tf.slice(theta, 0, 1));
    const aw = tf.mul(tf.exp(tf.slice(theta, 1, K)), a) as tf.Tensor1D;
    const nu = tf.exp(tf.slice(theta, 1 + K, K)) as tf.Tensor1D;
    let C = tf.reshape(tf.slice(theta, 1 + 2 * K, K * s * s), [K, s * s]) as tf.Tensor2D;
    if (this.options.filterScale !== 1) C = tf.mul(C, this.options.filterScale);
    if (this.options.zeroMean) C = tf.sub(C, tf.mean(C, 1, true));
    const F = tf.div(C, tf.reshape(nu, [K, 1])) as tf.Tensor2D;
    const A = tf.mul(C, tf.reshape(aw, [K, 1])) as tf.Tensor2D;
    return { aw, nu, C, F, A };
  }

  value(x: ImageBatch, theta: Tensor1D): Scalar {
    return byChunks(x, undefined, this.chunk(x), 'sum', (xc) => this.valueChunk(xc, theta));
  }

  private valueChunk(x: ImageBatch, theta: Tensor1D): Scalar {
    return tf.tidy(() => {
      const { aw, nu, F } = this.params(theta);
      const p = this.bank.prepare(x);
      const t = this.bank.respond(p, F);
      const rho = this.bank.maskedSums(tf.sqrt(tf.add(tf.square(t), 1)), p);
      return tf.sum(tf.mul(tf.mul(aw, nu), rho)) as Scalar;
    });
  }

  gradX(x: ImageBatch, theta: Tensor1D): ImageBatch {
    return byChunks(x, undefined, this.chunk(x), 'concat', (xc) => this.gradXChunk(xc, theta));
  }

  private gradXChunk(x: ImageBatch, theta: Tensor1D): ImageBatch {
    return tf.tidy(() => {
      const { F, A } = this.params(theta);
      const p = this.bank.prepare(x);
      const t = this.bank.respond(p, F);
      const g = this.activation(t, undefined, p);
      return this.bank.adjoint(g, A, p);
    });
  }

  hvpX(x: ImageBatch, theta: Tensor1D, v: ImageBatch): ImageBatch {
    return byChunks(x, v, this.chunk(x), 'concat', (xc, vc) => this.hvpXChunk(xc, theta, vc!));
  }

  private hvpXChunk(x: ImageBatch, theta: Tensor1D, v: ImageBatch): ImageBatch {
    return tf.tidy(() => {
      const { F, A } = this.params(theta);
      const px = this.bank.prepare(x);
      const t = this.bank.respond(px, F);
      const sv = this.bank.respond(this.bank.prepare(v), F);
      const g = this.activation(t, sv, px);
      return this.bank.adjoint(g, A, px);
    });
  }

  mixedVjp(x: ImageBatch, theta: Tensor1D, v: ImageBatch): Tensor1D {
    return byChunks(x, v, this.chunk(x), 'sum', (xc, vc) => this.mixedVjpChunk(xc, theta, vc!));
  }

  private mixedVjpChunk(x: ImageBatch, theta: Tensor1D, v: ImageBatch): Tensor1D {
    return tf.tidy(() => {
      const { aw, nu, F } = this.params(theta);
      const px = this.bank.prepare(x), pv = this.bank.prepare(v);
      const t = this.bank.respond(px, F);
      const sv = this.bank.respond(pv, F);
      const g1 = this.activation(t, undefined, px); // φ'(u)
      const g2 = this.activation(t, sv, px); // φ''(u) (C v)
      const awn = tf.mul(aw, nu);
      const first = tf.mul(awn, this.bank.sums(tf.mul(g1, sv))); // ∂θ_k, k = 1..K
      const second = tf.neg(tf.mul(awn, this.bank.sums(tf.mul(g2, t)))); // ∂θ_{K+k}
      let dC: Tensor = tf.mul(tf.add(this.bank.filterGrad(g2, px), this.bank.filterGrad(g1, pv)), tf.mul(tf.reshape(aw, [-1, 1]), this.options.filterScale));
      if (this.options.zeroMean) dC = tf.sub(dC, tf.mean(dC, 1, true));
      return tf.concat([tf.reshape(tf.sum(first), [1]), first, second, tf.reshape(dC, [-1])]) as Tensor1D;
    });
  }

  /** On the valid windows: φ'(t) = t/√(t² + 1), or φ''(t) v = v (t² + 1)^{−3/2}; zero elsewhere (fused where possible). */
  private activation(t: Tensor, v: Tensor | undefined, p: Prepared): tf.Tensor2D {
    const mask = this.bank.maskColumn(p);
    const fused = v ? fusedHessActivation(t, v, mask) : fusedGradActivation(t, mask);
    if (fused) return fused;
    const r = tf.rsqrt(tf.add(tf.square(t), 1));
    return this.bank.mask(v ? tf.mul(tf.mul(tf.square(r), r), v) : tf.mul(t, r), p);
  }

  curvature(theta: Float32Array, imageShape?: readonly number[]): Curvature {
    return this.bounds(theta, imageShape);
  }

  /** Images per chunk (large batches are processed in chunks to bound the wasm heap). */
  private chunk(x: ImageBatch): number {
    return imagesPerChunk(x.shape, this.options.size, this.options.filters);
  }

  /** The filters of θ (projected when zeroMean), one Float64Array of s² taps each. */
  filters(theta: Float32Array): Float64Array[] {
    const { filters: K, size: s } = this.options;
    const s2 = s * s, off = 1 + 2 * K;
    return Array.from({ length: K }, (_, k) => {
      const c = Float64Array.from(theta.subarray(off + k * s2, off + (k + 1) * s2), (v) => v * this.options.filterScale);
      if (this.options.zeroMean) {
        const m = c.reduce((p, q) => p + q, 0) / s2;
        for (let i = 0; i < s2; i++) c[i] -= m;
      }
      return c;
    });
  }

  /**
   * μ = 0 (convex, not strongly); L = ‖𝒱E‖² for the filters √d_k c_k, d_k = e^{θ₀+θ_k}/ν_k (φ'' ≤ 1/ν): B = sup_ω
   * Σ_k d_k |ĉ_k(ω)|² bounded on a Bernstein-corrected frequency grid or by Σ_k d_k ‖c_k‖₁² (Young), whichever is
   * smaller, times ‖E‖² ≤ 4 for the mirror extensions (1 for 'valid'), or, for a known image shape, B plus the
   * border's share (extendedBankBound). Cost: O(K·((32(s−1))²·s + (2s)⁴)) flops on the CPU, once per new θ (cached).
   */
  private computeCurvature(theta: Float32Array, imageShape?: readonly number[]): Curvature {
    const K = this.options.filters, s = this.options.size;
    const a = Math.exp(theta[0]);
    const d = Array.from({ length: K }, (_, k) => (a * Math.exp(theta[1 + k])) / Math.exp(theta[1 + K + k]));
    const c = this.filters(theta);
    const young = c.reduce((sum, ck, k) => sum + d[k] * l1(ck) ** 2, 0);
    const B = Math.min(young, multiplierBound(c, s, s, d));
    const weighted = c.map((ck, k) => ck.map((v) => v * Math.sqrt(d[k])));
    return { mu: 0, L: extendedBankBound(weighted, s, this.options.boundary, imageShape, B) };
  }
}
