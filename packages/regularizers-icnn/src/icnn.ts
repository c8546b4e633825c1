import { tf, type Curvature, type ImageBatch, type ParameterBlock, type ParameterLayout, type Regularizer, type Scalar, type Tensor, type Tensor1D } from '@bilevel/core';
import { byChunks, imagesPerChunk, derivativeFilters, extendedBankBound, filterBank, shapeCache, INIT_SALT, Rng, schurBound, xavierNormal, type Boundary, type ConvEngineName, type FilterBank, type Prepared } from '@bilevel/convkit';

export interface IcnnOptions {
  /** Channels of each layer, the last one included (default [32, 4]: two layers). */
  channels: number[];
  /** Size s of the input convolutions V_l (s×s taps). */
  size: number;
  /** Leak λ of σ(t) = λt + (1 − λ)(t + √(t² + ε²))/2. */
  leak: number;
  /** Width ε of σ's rounded corner (σ'' ≤ (1 − λ)/(2ε)). */
  smoothing: number;
  /** Initial (or fixed) weight γ of γ/2‖x‖². */
  gamma: number;
  /** Learn log γ as a parameter (else γ stays fixed). */
  learnGamma: boolean;
  /** Initial log of the output scale α. */
  logScale: number;
  /**
   * Initialisation: 'paired' (default): first-layer filters in ± pairs (Xavier-normal, mean removed), so that
   * σ(c·x) + σ(−c·x) is a smoothed |c·x| and R starts even (no drift), skip convolutions V_l (l ≥ 2) at 0 and
   * biases b_l (l ≥ 2) at 1 (upper layers near-linear): a FoE-like start. 'derivatives': the same with
   * finite-difference filters and equal weights W⁺ = 1/C_{l−1} (a TV-like start, see initGain). 'xavier': every
   * V_l Xavier-normal, biases 0.
   */
  init: 'paired' | 'derivatives' | 'xavier';
  /**
   * Gain k of the first-layer initial filters V_1 (default 1). σ's corner then sits at |c·x| ≈ ε/k in units of
   * the unit-norm filter response: k = √2 ε/ν starts the 'derivatives' network at a TV-like prior with corner ν.
   */
  initGain: number;
  /**
   * 'derivatives' start only: the second layer's weight W⁺ on each ± pair of first-layer filters, in the order of the
   * difference stencils (horizontal, vertical, the two diagonals, …); empty (default): 1/C_1 on every channel.
   */
  pairWeights: number[];
  /** Convolution layout of the input convolutions (see @bilevel/regularizers-foe filterBank). */
  engine: ConvEngineName | 'auto';
  /** Windows at the border (see @bilevel/regularizers-foe): 'reflect' (default), 'symmetric' or 'valid'. */
  boundary: Boundary;
}

export const ICNN_DEFAULTS: IcnnOptions = { channels: [32, 4], size: 7, leak: 0.2, smoothing: 0.05, gamma: 1e-3, learnGamma: true, logScale: 0, init: 'paired', initGain: 1, pairWeights: [], engine: 'auto', boundary: 'reflect' };

interface Layer {
  C: number;
  V: ParameterBlock;
  b: ParameterBlock;
  W?: ParameterBlock;
}

/** θ layout of the ICNN: per layer V_l [C_l, s²], b_l [C_l], W_l [C_l, C_{l−1}] (l ≥ 2), then log α and log γ. */
function buildLayout(o: IcnnOptions): { layout: ParameterLayout; layers: Layer[]; scale: number; gamma: number } {
  const s2 = o.size * o.size;
  const blocks: ParameterBlock[] = [];
  const layers: Layer[] = [];
  let off = 0;
  const add = (name: string, shape: number[]): ParameterBlock => {
    const b = { name, offset: off, shape };
    off += shape.reduce((p, q) => p * q, 1);
    blocks.push(b);
    return b;
  };
  o.channels.forEach((C, i) => {
    const l = i + 1;
    const W = l > 1 ? add(`W${l}`, [C, o.channels[i - 1]]) : undefined;
    const V = add(`V${l}`, [C, o.size, o.size]);
    const b = add(`b${l}`, [C]);
    layers.push({ C, V, b, W });
    void s2;
  });
  const scale = add('logScale', [1]).offset;
  const gamma = o.learnGamma ? add('logGamma', [1]).offset : -1;
  return { layout: { size: off, blocks }, layers, scale, gamma };
}

export function icnnParameterCount(o: Partial<IcnnOptions> = {}): number {
  return buildLayout({ ...ICNN_DEFAULTS, ...o }).layout.size;
}

const softplusInverse = (y: number) => y + Math.log(-Math.expm1(-y));

/** W⁺_l[·, j] at the start: pairWeights[⌊j/2⌋] (layer 2 of the 'derivatives' start), 1/C_{l−1} ('derivatives'), U(0.5, 1.5)/C_{l−1}. */
function initialWeight(o: IcnnOptions, l: number, j: number, rng: Rng): number {
  const Cp = o.channels[l - 1];
  if (o.init !== 'derivatives') return (0.5 + rng.uniform()) / Cp;
  return l === 1 && o.pairWeights.length > 0 ? o.pairWeights[j >> 1] : 1 / Cp;
}

/** What is wrong with `pairWeights` for these options, and the fix (undefined: nothing). */
export function pairWeightsProblem(o: Pick<IcnnOptions, 'pairWeights' | 'channels' | 'init'>): { problem: string; fix: string } | undefined {
  const w = o.pairWeights, C = o.channels[0];
  if (w.length === 0) return undefined;
  if (o.init !== 'derivatives' || o.channels.length < 2) return { problem: "is set, but it weights the second layer's inputs of a 'derivatives' start", fix: "use init 'derivatives' with at least two layers, or leave pairWeights empty" };
  if (C % 2 || w.length !== C / 2) return { problem: `needs one weight per ± pair of the ${C} first-layer channels, got ${w.length}`, fix: C % 2 ? 'give the first layer an even number of channels' : `give ${C / 2} weights` };
  if (w.some((v) => !(v > 0))) return { problem: 'has a weight ≤ 0 (W⁺ = softplus(W) > 0)', fix: 'make every weight positive' };
  return undefined;
}

/**
 * Convolutional input-convex network on s×s windows (one per pixel of the mirror-extended image, or 'valid'),
 * hidden layers mixed by non-negative 1×1
 * convolutions:
 *   z_1 = σ(V_1 x + b_1),   z_l = σ(W_l⁺ z_{l−1} + V_l x + b_l)  (l = 2..L),   W⁺ = softplus(W) ≥ 0,
 *   R_θ(x) = α Σ_windows Σ_channels (z_L(x) − z_L(0)) + γ/2 ‖x‖²,   α = e^{θ_α}, γ = e^{θ_γ} (or fixed),
 * with the smoothed leaky ReLU σ(t) = λt + (1 − λ)(t + √(t² + ε²))/2: convex, increasing (σ' ∈ (λ, 1)), C^∞,
 * σ'' ≤ (1 − λ)/(2ε).
 * R is convex in x (non-negative combinations of convex increasing functions of convex functions) and
 * γ-strongly convex. The V_l are s×s convolutions with one input channel (a filter bank: all windows share
 * their positions across layers); W_l act per window (matrix products on [windows, channels] matrices).
 *
 * ∇ₓR and ∇²ₓₓR v are by hand (reverse pass; forward tangent + its reverse pass) with σ', σ'' in closed
 * form; the mixed product is the reverse pass of m(θ) = ⟨∇ₓR, v⟩ = α Σ ż_L + γ⟨x, v⟩, also by hand.
 */
export class Icnn implements Regularizer {
  readonly name = 'icnn';
  readonly layout: ParameterLayout;
  readonly options: IcnnOptions;
  private readonly layers: Layer[];
  private readonly scaleAt: number;
  private readonly gammaAt: number;
  private readonly bank: FilterBank;
  private readonly bounds = shapeCache((theta, imageShape) => this.computeCurvature(theta, imageShape));

  constructor(options: Partial<IcnnOptions> = {}) {
    this.options = { ...ICNN_DEFAULTS, ...options };
    if (this.options.channels.length < 1) throw new Error('ICNN needs at least one layer');
    const bad = pairWeightsProblem(this.options);
    if (bad) throw new Error(`ICNN pairWeights ${bad.problem}: ${bad.fix}`);
    const b = buildLayout(this.options);
    this.layout = b.layout;
    this.layers = b.layers;
    this.scaleAt = b.scale;
    this.gammaAt = b.gamma;
    this.bank = filterBank(this.options.size, this.options.engine, this.options.boundary);
  }

  /** See `init`; W⁺ ≈ U(0.5, 1.5)/C_{l−1} (1/C_{l−1} for 'derivatives'); log α and log γ from the options (seeded). */
  initialTheta(seed: number): Float32Array {
    const o = this.options, s2 = o.size * o.size;
    const t = new Float32Array(this.layout.size);
    const rng = new Rng(seed, INIT_SALT);
    this.layers.forEach((L, l) => {
      if (o.init === 'xavier' || (l === 0 && L.C < 2)) xavierNormal(t, L.V.offset, L.C, s2, 1, rng, true);
      else if (l === 0) {
        // ± pairs: rows 2k and 2k + 1 are c_k and −c_k.
        const half = Math.floor(L.C / 2);
        const base = new Float32Array(half * s2);
        xavierNormal(base, 0, half, s2, 1, rng, true);
        if (o.init === 'derivatives' && o.size >= 3) derivativeFilters(o.size, half).forEach((c, k) => base.set(c, k * s2));
        for (let k = 0; k < half; k++) for (let i = 0; i < s2; i++) {
          t[L.V.offset + 2 * k * s2 + i] = base[k * s2 + i];
          t[L.V.offset + (2 * k + 1) * s2 + i] = -base[k * s2 + i];
        }
        if (L.C % 2) xavierNormal(t, L.V.offset + 2 * half * s2, 1, s2, 1, rng, true);
      } else t.fill(1, L.b.offset, L.b.offset + L.C);
      if (l === 0) for (let i = 0; i < L.C * s2; i++) t[L.V.offset + i] *= o.initGain;
      if (L.W) {
        const [C, Cp] = L.W.shape;
        for (let i = 0; i < C * Cp; i++) t[L.W.offset + i] = softplusInverse(initialWeight(o, l, i % Cp, rng));
      }
    });
    t[this.scaleAt] = o.logScale;
    if (this.gammaAt >= 0) t[this.gammaAt] = Math.log(o.gamma);
    return t;
  }

  private params(theta: Tensor1D) {
    const s2 = this.options.size * this.options.size;
    const blk = (b: ParameterBlock, shape: number[]) => tf.reshape(tf.slice(theta, b.offset, shape.reduce((p, q) => p * q, 1)), shape);
    const layers = this.layers.map((L) => ({
      C: L.C,
      V: blk(L.V, [L.C, s2]) as tf.Tensor2D,
      b: blk(L.b, [1, L.C]),
      W: L.W ? (tf.softplus(blk(L.W, L.W.shape as number[])) as tf.Tensor2D) : undefined,
    }));
    const alpha = tf.exp(tf.slice(theta, this.scaleAt, 1));
    const gamma: Tensor | number = this.gammaAt >= 0 ? tf.exp(tf.slice(theta, this.gammaAt, 1)) : this.options.gamma;
    return { layers, alpha, gamma };
  }

  /** σ(u) = λu + (1 − λ)(u + ρ)/2, ρ = √(u² + ε²);  σ' = λ + (1 − λ)(1 + u/ρ)/2;  σ'' = (1 − λ)ε²/(2ρ³). */
  private act(u: Tensor) {
    const { leak: lam, smoothing: eps } = this.options;
    const q = tf.add(tf.square(u), eps * eps);
    const r = tf.rsqrt(q); // 1/ρ
    return {
      z: () => tf.add(tf.mul(u, (1 + lam) / 2), tf.mul(tf.mul(q, r), (1 - lam) / 2)),
      d1: tf.add(tf.mul(tf.mul(u, r), (1 - lam) / 2), (1 + lam) / 2),
      d2: () => tf.mul(tf.mul(tf.square(r), r), ((1 - lam) * eps * eps) / 2),
    };
  }

  /** Pre-activations u_l, activations z_l and the activation derivatives at x. */
  private forward(p: Prepared, P: ReturnType<Icnn['params']>, needZ: boolean) {
    const us: Tensor[] = [], zs: Tensor[] = [], d1: Tensor[] = [], d2: (() => Tensor)[] = [];
    P.layers.forEach((L, i) => {
      let u: Tensor = tf.add(this.bank.respond(p, L.V), L.b);
      if (L.W) u = tf.add(u, tf.matMul(zs[i - 1] as tf.Tensor2D, tf.transpose(L.W)));
      const a = this.act(u);
      us.push(u);
      d1.push(a.d1);
      d2.push(a.d2);
      if (needZ || i < P.layers.length - 1) zs.push(a.z());
    });
    return { us, zs, d1, d2 };
  }

  private gammaTerm(x: Tensor, gamma: Tensor | number): Tensor {
    return tf.mul(x, gamma);
  }

  value(x: ImageBatch, theta: Tensor1D): Scalar {
    return byChunks(x, undefined, this.chunk(x), 'sum', (xc) => this.valueChunk(xc, theta));
  }

  private valueChunk(x: ImageBatch, theta: Tensor1D): Scalar {
    return tf.tidy(() => {
      const P = this.params(theta);
      const p = this.bank.prepare(x);
      const { zs } = this.forward(p, P, true);
      // Subtract z_L(0) (per channel) before summing: R(0) = 0, and float32 keeps the digits that vary with x.
      let z0: Tensor | undefined;
      for (const L of P.layers) {
        const u0 = L.W ? tf.add(tf.matMul(z0 as tf.Tensor2D, tf.transpose(L.W)), L.b) : L.b;
        z0 = this.act(u0).z();
      }
      const out = this.bank.maskedSums(tf.sub(zs[zs.length - 1], z0!), p);
      return tf.reshape(tf.add(tf.mul(P.alpha, tf.sum(out)), tf.mul(tf.mul(tf.sum(tf.square(x)), P.gamma), 0.5)), []) as Scalar;
    });
  }

  /** Reverse pass: g_L = α mask σ'(u_L), g_{l−1} = (W_lᵀ g_l) σ'(u_{l−1}); returns every g_l. */
  private backward(p: Prepared, P: ReturnType<Icnn['params']>, d1: Tensor[]): { g: Tensor[]; delta: Tensor[] } {
    const L = P.layers.length;
    const g: Tensor[] = new Array(L), delta: Tensor[] = new Array(L);
    delta[L - 1] = this.bank.mask(tf.mul(tf.onesLike(d1[L - 1]), P.alpha), p);
    g[L - 1] = tf.mul(delta[L - 1], d1[L - 1]);
    for (let l = L - 1; l > 0; l--) {
      delta[l - 1] = tf.matMul(g[l] as tf.Tensor2D, P.layers[l].W!);
      g[l - 1] = tf.mul(delta[l - 1], d1[l - 1]);
    }
    return { g, delta };
  }

  /** Σ_l 𝒱_lᵀ G_l as an image: one adjoint of the stacked channels (the bank's `adjoint` is linear in (G, F) pairs). */
  private adjoint(p: Prepared, P: ReturnType<Icnn['params']>, G: Tensor[]): ImageBatch {
    if (G.length === 1) return this.bank.adjoint(G[0], P.layers[0].V, p);
    return this.bank.adjointSum(G.map((g, l) => [g, P.layers[l].V] as [Tensor, Tensor]), p);
  }

  gradX(x: ImageBatch, theta: Tensor1D): ImageBatch {
    return byChunks(x, undefined, this.chunk(x), 'concat', (xc) => this.gradXChunk(xc, theta));
  }

  private gradXChunk(x: ImageBatch, theta: Tensor1D): ImageBatch {
    return tf.tidy(() => {
      const P = this.params(theta);
      const p = this.bank.prepare(x);
      const f = this.forward(p, P, false);
      const { g } = this.backward(p, P, f.d1);
      return tf.add(this.adjoint(p, P, g), this.gammaTerm(x, P.gamma)) as ImageBatch;
    });
  }

  hvpX(x: ImageBatch, theta: Tensor1D, v: ImageBatch): ImageBatch {
    return byChunks(x, v, this.chunk(x), 'concat', (xc, vc) => this.hvpXChunk(xc, theta, vc!));
  }

  private hvpXChunk(x: ImageBatch, theta: Tensor1D, v: ImageBatch): ImageBatch {
    return tf.tidy(() => {
      const P = this.params(theta);
      const p = this.bank.prepare(x), pv = this.bank.prepare(v);
      const f = this.forward(p, P, false);
      const { delta } = this.backward(p, P, f.d1);
      const L = P.layers.length;
      // Tangent: u̇_l = W_l (σ'(u_{l−1}) u̇_{l−1}) + V_l v.
      const ud: Tensor[] = [];
      P.layers.forEach((Ly, l) => {
        let u: Tensor = this.bank.respond(pv, Ly.V);
        if (Ly.W) u = tf.add(u, tf.matMul(tf.mul(f.d1[l - 1], ud[l - 1]) as tf.Tensor2D, tf.transpose(Ly.W)));
        ud.push(u);
      });
      // Reverse of the tangent: ġ_l = δ̇_l σ'(u_l) + δ_l σ''(u_l) u̇_l, δ̇_{l−1} = W_lᵀ ġ_l, δ̇_L = 0.
      const gd: Tensor[] = new Array(L);
      let deltaDot: Tensor | undefined;
      for (let l = L - 1; l >= 0; l--) {
        let gl = tf.mul(tf.mul(delta[l], f.d2[l]()), ud[l]);
        if (deltaDot) gl = tf.add(gl, tf.mul(deltaDot, f.d1[l]));
        gd[l] = gl;
        if (l > 0) deltaDot = tf.matMul(gl as tf.Tensor2D, P.layers[l].W!);
      }
      return tf.add(this.adjoint(p, P, gd), this.gammaTerm(v, P.gamma)) as ImageBatch;
    });
  }

  /**
   * Reverse pass through the forward and tangent passes of m(θ) = α Σ mask·ż_L + γ⟨x, v⟩, by hand
   * (tfjs-core ships no gradient kernels to Node; nothing here differentiates a derivative):
   *   ż̄_L = α mask,  z̄_L = 0;  for l = L..1 with s_l = σ'(u_l):
   *   u̇̄_l = ż̄_l s_l,  ū_l = ż̄_l u̇_l σ''(u_l) + z̄_l s_l,
   *   V̄_l = ū_l Xᵀ + u̇̄_l Ẋᵀ,  b̄_l = Σ ū_l,  W̄_l = ū_l z_{l−1}ᵀ + u̇̄_l ż_{l−1}ᵀ,
   *   z̄_{l−1} = W_lᵀ ū_l,  ż̄_{l−1} = W_lᵀ u̇̄_l;   θ̄_W = W̄ ⊙ sigmoid(θ_W),  θ̄_α = α Σ mask ż_L,  θ̄_γ = γ⟨x, v⟩.
   */
  mixedVjp(x: ImageBatch, theta: Tensor1D, v: ImageBatch): Tensor1D {
    return byChunks(x, v, this.chunk(x), 'sum', (xc, vc) => this.mixedVjpChunk(xc, theta, vc!));
  }

  private mixedVjpChunk(x: ImageBatch, theta: Tensor1D, v: ImageBatch): Tensor1D {
    return tf.tidy(() => {
      const P = this.params(theta);
      const p = this.bank.prepare(x), pv = this.bank.prepare(v);
      const L = P.layers.length;
      const f = this.forward(p, P, false);
      const ud: Tensor[] = [], zd: Tensor[] = [];
      P.layers.forEach((Ly, l) => {
        let u: Tensor = this.bank.respond(pv, Ly.V);
        if (Ly.W) u = tf.add(u, tf.matMul(zd[l - 1] as tf.Tensor2D, tf.transpose(Ly.W)));
        ud.push(u);
        zd.push(tf.mul(f.d1[l], u));
      });
      // aᵀb for [rows, ·] matrices (transpose the left factor explicitly: transposed matMul is a slow path on wasm).
      const outer = (a: Tensor, b: Tensor) => tf.matMul(tf.transpose(a) as tf.Tensor2D, b as tf.Tensor2D);
      const grads = new Map<ParameterBlock, Tensor>();
      let zdBar: Tensor = this.bank.mask(tf.mul(tf.onesLike(zd[L - 1]), P.alpha), p);
      let zBar: Tensor | undefined;
      for (let l = L - 1; l >= 0; l--) {
        const Ly = P.layers[l], blocks = this.layers[l];
        const udBar = tf.mul(zdBar, f.d1[l]);
        let uBar = tf.mul(tf.mul(zdBar, ud[l]), f.d2[l]());
        if (zBar) uBar = tf.add(uBar, tf.mul(zBar, f.d1[l]));
        grads.set(blocks.V, tf.add(this.bank.filterGrad(uBar, p), this.bank.filterGrad(udBar, pv)));
        grads.set(blocks.b, tf.sum(uBar, 0));
        if (Ly.W && blocks.W) {
          const Wbar = tf.add(outer(uBar, f.zs[l - 1]), outer(udBar, zd[l - 1]));
          const raw = tf.reshape(tf.slice(theta, blocks.W.offset, Ly.W.size), Ly.W.shape);
          grads.set(blocks.W, tf.mul(Wbar, tf.sigmoid(raw)));
          zBar = tf.matMul(uBar as tf.Tensor2D, Ly.W);
          zdBar = tf.matMul(udBar as tf.Tensor2D, Ly.W);
        }
      }
      const alphaPart = tf.mul(P.alpha, tf.sum(this.bank.maskedSums(zd[L - 1], p)));
      const parts: Tensor[] = [];
      for (const b of this.layout.blocks) {
        const g = grads.get(b);
        if (g) parts.push(tf.reshape(g, [-1]));
        else if (b.offset === this.scaleAt) parts.push(tf.reshape(alphaPart, [1]));
        else parts.push(tf.reshape(tf.mul(P.gamma, tf.sum(tf.mul(x, v))), [1]));
      }
      return tf.concat(parts) as Tensor1D;
    });
  }

  curvature(theta: Float32Array, imageShape?: readonly number[]): Curvature {
    return this.bounds(theta, imageShape);
  }

  /** Images per chunk (large batches are processed in chunks to bound the wasm heap). */
  private chunk(x: ImageBatch): number {
    return imagesPerChunk(x.shape, this.options.size, Math.max(...this.options.channels));
  }

  /**
   * Along any v: d²R = α Σ z̈_L + γ‖v‖², z̈_l = σ''(u_l) u̇_l² + σ'(u_l) W_l⁺ z̈_{l−1} ≥ 0, so with
   * a_l ≥ ‖u̇_l‖/‖v‖ (a_1 = ‖𝒱_1E‖, a_l = ‖W_l⁺‖ a_{l−1} + ‖𝒱_lE‖, 𝒱_l the 1→C_l convolution and E the boundary's
   * extension, ‖𝒱_lE‖ from extendedBankBound: the frequency-grid bound plus the border's share for this image shape,
   * ≤ 4× it for any shape) and β_l = max column sum of W_l⁺:  S_1 ≤ σ''_max a_1²,  S_l ≤ σ''_max a_l² + β_l S_{l−1},
   * L = α S_L + γ, μ = γ. Cost: O(Σ C_l ((32(s−1))² s + (2s)⁴)) flops on the CPU per new θ (cached).
   */
  private computeCurvature(theta: Float32Array, imageShape?: readonly number[]): Curvature {
    const o = this.options, s = o.size, s2 = s * s;
    const d2max = (1 - o.leak) / (2 * o.smoothing);
    let a = 0, S = 0;
    for (const L of this.layers) {
      const kernels = Array.from({ length: L.C }, (_, c) => theta.subarray(L.V.offset + c * s2, L.V.offset + (c + 1) * s2));
      const normV = Math.sqrt(extendedBankBound(kernels, s, o.boundary, imageShape));
      if (L.W) {
        const [C, Cp] = L.W.shape;
        const Wp = Float64Array.from(theta.subarray(L.W.offset, L.W.offset + C * Cp), (w) => Math.max(w, 0) + Math.log1p(Math.exp(-Math.abs(w))));
        let fro = 0;
        const col = new Float64Array(Cp);
        for (let i = 0; i < C; i++) for (let j = 0; j < Cp; j++) {
          fro += Wp[i * Cp + j] ** 2;
          col[j] += Wp[i * Cp + j];
        }
        const normW = Math.min(Math.sqrt(fro), schurBound(Wp, C, Cp));
        a = normW * a + normV;
        S = d2max * a * a + Math.max(...col) * S;
      } else {
        a = normV;
        S = d2max * a * a;
      }
    }
    const alpha = Math.exp(theta[this.scaleAt]);
    const gamma = this.gammaAt >= 0 ? Math.exp(theta[this.gammaAt]) : o.gamma;
    return { mu: gamma, L: (alpha * S + gamma) * (1 + 1e-6) };
  }
}
