import { tf, type Curvature, type ImageBatch, type ParameterBlock, type ParameterLayout, type Regularizer, type Scalar, type Tensor, type Tensor1D } from '@bilevel/core';
import { evaluateSpline, splineTables, type SplineKind } from './spline.js';
import { byChunks, imagesPerChunk, derivativeFilters, extendedBankBound, filterBank, multiplierBound, shapeCache, multiplierGrid, INIT_SALT, Rng, xavierNormal, type Boundary, type ConvEngineName, type FilterBank, type Prepared } from '@bilevel/convkit';

export interface CrrOptions {
  /** Output channels of each convolution of W (input: one channel). Default [8, 32]: 1 → 8 → 32. */
  channels: number[];
  /** Kernel size s of every convolution (default 7: composite 13×13). */
  size: number;
  /** Number of spline knots, odd (default 21: 20 linear pieces), uniform on [−range, range]. */
  knots: number;
  /** Half-width T of the spline's knot interval; σ is constant beyond ±T (ψ grows linearly). */
  range: number;
  /** Initial log λ. */
  logStrength: number;
  /** 'smooth' (default): the linear spline averaged over one knot spacing (C¹ σ, Lipschitz Hessian); 'linear': the paper's linear spline. */
  activation: SplineKind;
  /** Convolution layout (see @bilevel/regularizers-foe filterBank). */
  engine: ConvEngineName | 'auto';
  /** First-layer initialisation: 'xavier' (default, mean removed) or 'derivatives' (unit finite differences, Xavier beyond 8). */
  init: 'xavier' | 'derivatives';
  /** Windows at the border (see @bilevel/regularizers-foe): 'reflect' (default), 'symmetric' or 'valid'. */
  boundary: Boundary;
}

export const CRR_DEFAULTS: CrrOptions = { channels: [8, 32], size: 7, knots: 21, range: 0.2, logStrength: 0, activation: 'smooth', engine: 'auto', init: 'xavier', boundary: 'reflect' };

function layoutOf(o: CrrOptions) {
  const blocks: ParameterBlock[] = [];
  let off = 0;
  const add = (name: string, shape: number[]) => {
    const b = { name, offset: off, shape };
    off += shape.reduce((p, q) => p * q, 1);
    blocks.push(b);
    return b;
  };
  const strength = add('logStrength', [1]);
  const convs = o.channels.map((c, i) => add(`conv${i + 1}`, [c, i === 0 ? 1 : o.channels[i - 1], o.size, o.size]));
  const spline = add('splineLogSlopes', [o.channels[o.channels.length - 1], o.knots - 1]);
  return { layout: { size: off, blocks } as ParameterLayout, strength, convs, spline };
}

export function crrParameterCount(o: Partial<CrrOptions> = {}): number {
  return layoutOf({ ...CRR_DEFAULTS, ...o }).layout.size;
}

/**
 * The composite kernels of W = W_L ∘ … ∘ W_1 on the CPU: [C_L][S·S], S = L(s − 1) + 1, with the first
 * layer's filters projected to zero mean. K_l[c] = Σ_m K_{l−1}[m] ∗ f_l[c, m] (full 2-D convolution).
 */
export function compositeKernels(theta: ArrayLike<number>, convs: readonly ParameterBlock[], s: number): { kernels: Float64Array[]; S: number } {
  let S = s;
  const [C1] = convs[0].shape;
  let K: Float64Array[] = Array.from({ length: C1 }, (_, c) => {
    const k = Float64Array.from({ length: s * s }, (_, i) => theta[convs[0].offset + c * s * s + i]);
    const m = k.reduce((p, q) => p + q, 0) / (s * s);
    return k.map((v) => v - m);
  });
  for (let l = 1; l < convs.length; l++) {
    const [Cn, Cp] = convs[l].shape;
    const Sn = S + s - 1;
    const next = Array.from({ length: Cn }, () => new Float64Array(Sn * Sn));
    for (let c = 0; c < Cn; c++) for (let m = 0; m < Cp; m++) {
      const fo = convs[l].offset + (c * Cp + m) * s * s, kp = K[m], out = next[c];
      for (let i = 0; i < S; i++) for (let j = 0; j < S; j++) {
        const kv = kp[i * S + j];
        if (kv === 0) continue;
        for (let p = 0; p < s; p++) for (let q = 0; q < s; q++) out[(i + p) * Sn + (j + q)] += kv * theta[fo + p * s + q];
      }
    }
    K = next;
    S = Sn;
  }
  return { kernels: K, S };
}

/**
 * Convex ridge regularizer (Goujon, Neumayer, Bohra, Unser, 2023):
 *   R_θ(x) = λ Σ_c Σ_windows ψ_c((W x)_c),   ∇ₓR = λ Wᵀ σ(W x),   ψ_c' = σ_c,  ψ_c(0) = 0,
 * W = W_L ∘ … ∘ W_1 a multi-convolution (1 → 8 → 32 channels, 7×7 kernels by default, 'valid', applied as
 * its composite S×S kernel, S = 13, on the mirror-extended image or 'valid'), zero-mean (the first layer's filters are projected to zero mean), and
 * scaled to ‖W‖ = 1 at initialization; σ_c a linear spline with uniform knots τ_j on [−T, T] (21 by
 * default), σ_c(0) = 0, slopes e^{θ_{c,j}} ≥ 0 (monotone ⇒ ψ_c convex), constant beyond ±T; λ = e^{θ_λ}.
 * With activation 'smooth' (the default) σ_c is that spline averaged over one knot spacing, so ψ_c ∈ C² and
 * ∇²R is Lipschitz (spline.ts); ψ_c is the exact integral either way, read from per-piece tables (cumulative
 * sums of the slopes) with one gather per table. All products are closed form:
 *   ∇²ₓR v = λ Wᵀ(σ'(Wx) ⊙ Wv),
 *   ∂θ_λ⟨∇ₓR, v⟩ = λ⟨σ(Wx), Wv⟩,   ∂θ_{c,j} = λ S_{c,j} Σ (Wv)_c B_j((Wx)_c)   (∂σ/∂S_j piecewise
 *   polynomial in the piece fraction: weighted histograms of the pieces, tf.bincount),   ∂W = λ[(σ'(Wx) Wv) xᵀ + σ(Wx) vᵀ] pulled back through the composition.
 * μ = 0 and L = λ max S · ‖W‖², ‖W‖² from the frequency-grid bound of the composite kernels.
 */
export class ConvexRidge implements Regularizer {
  readonly name = 'crr';
  readonly layout: ParameterLayout;
  readonly options: CrrOptions;
  private readonly blocks: ReturnType<typeof layoutOf>;
  private readonly S: number;
  private readonly J: number;
  private readonly delta: number;
  private readonly bank: FilterBank;
  private readonly bounds = shapeCache((theta, imageShape) => this.computeCurvature(theta, imageShape));

  constructor(options: Partial<CrrOptions> = {}) {
    this.options = { ...CRR_DEFAULTS, ...options };
    const o = this.options;
    if (o.knots < 3 || o.knots % 2 === 0) throw new Error(`CRR needs an odd number of knots ≥ 3 (σ(0) = 0 at the middle knot), got ${o.knots}`);
    this.blocks = layoutOf(o);
    this.layout = this.blocks.layout;
    this.S = o.channels.length * (o.size - 1) + 1;
    this.J = o.knots - 1;
    this.delta = (2 * o.range) / this.J;
    this.bank = filterBank(this.S, this.options.engine, this.options.boundary);
  }

  /** Xavier-normal convolutions (first layer zero-mean), the last one scaled so that ‖W‖ = 1; slopes 1 (σ = clip(·, −T, T)); log λ from the options. */
  initialTheta(seed: number): Float32Array {
    const o = this.options, { convs, strength, spline } = this.blocks, s2 = o.size * o.size;
    const t = new Float32Array(this.layout.size);
    const rng = new Rng(seed, INIT_SALT);
    convs.forEach((b, l) => xavierNormal(t, b.offset, b.shape[0], s2, b.shape[1], rng, l === 0));
    if (o.init === 'derivatives' && o.size >= 3) derivativeFilters(o.size, convs[0].shape[0]).forEach((c, k) => t.set(c, convs[0].offset + k * s2));
    const { kernels, S } = compositeKernels(t, convs, o.size);
    const { max } = multiplierGrid(kernels, S, S);
    const last = convs[convs.length - 1];
    const scale = 1 / Math.sqrt(max);
    const n = last.shape.reduce((p, q) => p * q, 1);
    for (let i = last.offset; i < last.offset + n; i++) t[i] *= scale;
    t[strength.offset] = o.logStrength;
    t.fill(0, spline.offset, spline.offset + spline.shape[0] * spline.shape[1]);
    return t;
  }

  /** Composite kernel [C, S²] of θ (tensor ops; every layer a small conv2d). */
  private composite(theta: Tensor1D): tf.Tensor2D {
    const s = this.options.size, { convs } = this.blocks;
    const [C1] = convs[0].shape;
    let raw = tf.reshape(tf.slice(theta, convs[0].offset, C1 * s * s), [C1, s * s]);
    raw = tf.sub(raw, tf.mean(raw, 1, true));
    // K as conv filters [S, S, 1, C] (1 → C).
    let K = tf.reshape(tf.transpose(raw), [s, s, 1, C1]) as tf.Tensor4D;
    let S = s;
    for (let l = 1; l < convs.length; l++) {
      const [Cn, Cp] = convs[l].shape;
      const f = tf.reshape(tf.slice(theta, convs[l].offset, Cn * Cp * s * s), [Cn, Cp, s, s]);
      // input: f as [Cn, s, s, Cp] zero-padded by S − 1; filter: K flipped, as [S, S, Cp, 1].
      const input = tf.pad(tf.transpose(f, [0, 2, 3, 1]), [[0, 0], [S - 1, S - 1], [S - 1, S - 1], [0, 0]]) as tf.Tensor4D;
      const filt = tf.reshape(tf.transpose(tf.reverse(K, [0, 1]), [0, 1, 3, 2]), [S, S, Cp, 1]) as tf.Tensor4D;
      const out = tf.conv2d(input, filt, 1, 'valid'); // [Cn, S + s − 1, S + s − 1, 1]
      S = S + s - 1;
      K = tf.transpose(tf.reshape(out, [Cn, S, S, 1]), [1, 2, 3, 0]) as tf.Tensor4D; // [S, S, 1, Cn]
    }
    const C = K.shape[3];
    return tf.transpose(tf.reshape(K, [S * S, C])) as tf.Tensor2D;
  }

  /** ∂/∂θ_conv ⟨K(θ), Ḡ⟩ for Ḡ [C, S²], by the reverse pass of the composition (one small conv2d per factor). */
  private compositeVjp(theta: Tensor1D, Gbar: Tensor): Tensor[] {
    const s = this.options.size, { convs } = this.blocks;
    // Recompute the chain of K_l as [C_l, S_l, S_l].
    const [C1] = convs[0].shape;
    let raw = tf.reshape(tf.slice(theta, convs[0].offset, C1 * s * s), [C1, s * s]);
    raw = tf.sub(raw, tf.mean(raw, 1, true));
    const Ks: tf.Tensor3D[] = [tf.reshape(raw, [C1, s, s]) as tf.Tensor3D];
    const fs: tf.Tensor4D[] = [];
    let S = s;
    for (let l = 1; l < convs.length; l++) {
      const [Cn, Cp] = convs[l].shape;
      const f = tf.reshape(tf.slice(theta, convs[l].offset, Cn * Cp * s * s), [Cn, Cp, s, s]) as tf.Tensor4D;
      fs.push(f);
      const Kprev = Ks[l - 1];
      const input = tf.pad(tf.transpose(f, [0, 2, 3, 1]), [[0, 0], [S - 1, S - 1], [S - 1, S - 1], [0, 0]]) as tf.Tensor4D;
      const filt = tf.reshape(tf.transpose(tf.reverse(Kprev, [1, 2]), [1, 2, 0]), [S, S, Cp, 1]) as tf.Tensor4D;
      S = S + s - 1;
      Ks.push(tf.reshape(tf.conv2d(input, filt, 1, 'valid'), [Cn, S, S]) as tf.Tensor3D);
    }
    const grads: Tensor[] = new Array(convs.length);
    let G = tf.reshape(Gbar, [Gbar.shape[0], S, S]) as tf.Tensor3D; // ∂/∂K_L
    for (let l = convs.length - 1; l >= 1; l--) {
      const [Cn, Cp] = convs[l].shape;
      const Sp = S - s + 1;
      // f̄[c, m] = Σ_{i,j} G[c, i + ·, j + ·] K_{l−1}[m, i, j]: input G as [Cn, S, S, 1], filter K_{l−1} as [Sp, Sp, 1, Cp].
      const fbar = tf.conv2d(tf.reshape(G, [Cn, S, S, 1]) as tf.Tensor4D, tf.reshape(tf.transpose(Ks[l - 1], [1, 2, 0]), [Sp, Sp, 1, Cp]) as tf.Tensor4D, 1, 'valid'); // [Cn, s, s, Cp]
      grads[l] = tf.transpose(fbar, [0, 3, 1, 2]);
      // K̄_{l−1}[m] = Σ_c Σ G[c, · + i', · + j'] f[c, m, i', j']: input G as [1, S, S, Cn], filter f as [s, s, Cn, Cp].
      const kbar = tf.conv2d(tf.reshape(tf.transpose(G, [1, 2, 0]), [1, S, S, Cn]) as tf.Tensor4D, tf.transpose(fs[l - 1], [2, 3, 0, 1]) as tf.Tensor4D, 1, 'valid'); // [1, Sp, Sp, Cp]
      G = tf.transpose(tf.reshape(kbar, [Sp, Sp, Cp]), [2, 0, 1]) as tf.Tensor3D;
      S = Sp;
    }
    const g1 = tf.reshape(G, [C1, s * s]);
    grads[0] = tf.sub(g1, tf.mean(g1, 1, true)); // zero-mean projection
    return grads;
  }

  private spline(theta: Tensor1D) {
    const { spline } = this.blocks, [C, J] = spline.shape;
    return splineTables(this.options.activation, tf.slice(theta, spline.offset, C * J), C, J, this.delta);
  }

  private setup(theta: Tensor1D) {
    const lambda = tf.exp(tf.slice(theta, this.blocks.strength.offset, 1));
    const K = this.composite(theta);
    return { lambda, K, Fa: tf.div(K, this.delta) as tf.Tensor2D, A: tf.mul(K, lambda) as tf.Tensor2D };
  }

  /** The activation at the responses of x: a = (K x)/Δ + J/2. */
  private activation(p: Prepared, theta: Tensor1D, Fa: tf.Tensor2D) {
    const T = this.spline(theta);
    const a = tf.add(this.bank.respond(p, Fa), T.J / 2);
    return { T, act: evaluateSpline(this.options.activation, T, a, this.delta) };
  }

  value(x: ImageBatch, theta: Tensor1D): Scalar {
    return byChunks(x, undefined, this.chunk(x), 'sum', (xc) => this.valueChunk(xc, theta));
  }

  private valueChunk(x: ImageBatch, theta: Tensor1D): Scalar {
    return tf.tidy(() => {
      const { lambda, Fa } = this.setup(theta);
      const p = this.bank.prepare(x);
      const { act } = this.activation(p, theta, Fa);
      return tf.reshape(tf.mul(lambda, tf.sum(this.bank.maskedSums(act.psi(), p))), []) as Scalar;
    });
  }

  gradX(x: ImageBatch, theta: Tensor1D): ImageBatch {
    return byChunks(x, undefined, this.chunk(x), 'concat', (xc) => this.gradXChunk(xc, theta));
  }

  private gradXChunk(x: ImageBatch, theta: Tensor1D): ImageBatch {
    return tf.tidy(() => {
      const { Fa, A } = this.setup(theta);
      const p = this.bank.prepare(x);
      const { act } = this.activation(p, theta, Fa);
      return this.bank.adjoint(this.bank.mask(act.sigma(), p), A, p);
    });
  }

  hvpX(x: ImageBatch, theta: Tensor1D, v: ImageBatch): ImageBatch {
    return byChunks(x, v, this.chunk(x), 'concat', (xc, vc) => this.hvpXChunk(xc, theta, vc!));
  }

  private hvpXChunk(x: ImageBatch, theta: Tensor1D, v: ImageBatch): ImageBatch {
    return tf.tidy(() => {
      const { K, Fa, A } = this.setup(theta);
      const p = this.bank.prepare(x);
      const { act } = this.activation(p, theta, Fa);
      const wv = this.bank.respond(this.bank.prepare(v), K);
      return this.bank.adjoint(this.bank.mask(tf.mul(act.slope(), wv), p), A, p);
    });
  }

  mixedVjp(x: ImageBatch, theta: Tensor1D, v: ImageBatch): Tensor1D {
    return byChunks(x, v, this.chunk(x), 'sum', (xc, vc) => this.mixedVjpChunk(xc, theta, vc!));
  }

  private mixedVjpChunk(x: ImageBatch, theta: Tensor1D, v: ImageBatch): Tensor1D {
    return tf.tidy(() => {
      const { lambda, K, Fa } = this.setup(theta);
      const p = this.bank.prepare(x), pv = this.bank.prepare(v);
      const { T, act } = this.activation(p, theta, Fa);
      const sigma = act.sigma();
      const wv = this.bank.mask(this.bank.respond(pv, K), p); // W v on the valid windows
      const dStrength = tf.mul(lambda, tf.sum(tf.mul(sigma, wv)));
      const dSpline = tf.mul(tf.mul(act.slopeGradient(wv), T.S), lambda);
      // Composite kernel: ∂K = λ[(σ'(Wx) ⊙ Wv) Xᵀ + σ(Wx) Vᵀ], then through the composition.
      const g1 = tf.mul(act.slope(), wv);
      const g2 = this.bank.mask(sigma, p);
      const dK = tf.mul(tf.add(this.bank.filterGrad(g1, p), this.bank.filterGrad(g2, pv)), lambda);
      const dConvs = this.compositeVjp(theta, dK);
      return tf.concat([tf.reshape(dStrength, [1]), ...dConvs.map((g) => tf.reshape(g, [-1])), tf.reshape(dSpline, [-1])]) as Tensor1D;
    });
  }

  curvature(theta: Float32Array, imageShape?: readonly number[]): Curvature {
    return this.bounds(theta, imageShape);
  }

  /** Images per chunk (large batches are processed in chunks to bound the wasm heap). */
  private chunk(x: ImageBatch): number {
    return imagesPerChunk(x.shape, this.S, this.options.channels[this.options.channels.length - 1]);
  }

  /** ‖W‖² bound of θ's composite kernels (frequency grid, Bernstein-corrected). */
  normSquaredBound(theta: Float32Array): number {
    return this.boundedKernels(theta).B;
  }

  /** θ's composite kernels (S×S) and their ‖W‖² bound B. */
  private boundedKernels(theta: Float32Array): { kernels: Float64Array[]; S: number; B: number } {
    const { kernels, S } = compositeKernels(theta, this.blocks.convs, this.options.size);
    return { kernels, S, B: multiplierBound(kernels, S, S, undefined, 24) };
  }

  /**
   * μ = 0, L = λ · max_{c,j} e^{θ_{c,j}} · ‖WE‖² (σ' ≤ max slope), ‖WE‖² ≤ 4‖W‖² for the mirror extensions or, for a
   * known image shape, ‖W‖² plus the border's share (extendedBankBound). Cost: the composite kernels and a
   * (24(S−1))²/2-point grid per new θ (cached).
   */
  private computeCurvature(theta: Float32Array, imageShape?: readonly number[]): Curvature {
    const { spline, strength } = this.blocks;
    let maxLog = -Infinity;
    for (let i = spline.offset; i < spline.offset + spline.shape[0] * spline.shape[1]; i++) maxLog = Math.max(maxLog, theta[i]);
    const { kernels, S, B } = this.boundedKernels(theta);
    const normWE = extendedBankBound(kernels, S, this.options.boundary, imageShape, B);
    return { mu: 0, L: Math.exp(theta[strength.offset] + maxLog) * normWE };
  }

  /** The linear spline of θ for inspection: knots τ_j and per channel σ_c(τ_j) ('smooth' averages it over one spacing). */
  activations(theta: Float32Array): { knots: number[]; values: number[][] } {
    const { spline } = this.blocks, [C, J] = spline.shape, D = this.delta;
    const knots = Array.from({ length: J + 1 }, (_, j) => -this.options.range + j * D);
    const values = Array.from({ length: C }, (_, c) => {
      const out = [0];
      for (let j = 0; j < J; j++) out.push(out[j] + D * Math.exp(theta[spline.offset + c * J + j]));
      const mid = out[J / 2];
      return out.map((v) => v - mid);
    });
    return { knots, values };
  }

}
