import { readScalars, readTensors, tf, type ImageBatch } from '@bilevel/core';

/** Dual fields: [n, h, w, 2C], channels (2c, 2c + 1) the two components of group c. */
export type DualField = tf.Tensor4D;

/**
 * A linear operator K_θ = conv_W ∘ Pad: the image is padded symmetrically (replicated edges, i.e. Neumann boundary:
 * differences across the border vanish) by ⌊(s−1)/2⌋ before and ⌈(s−1)/2⌉ after, then convolved ('valid') with s×s filters
 * W ∈ ℝ^{s×s×1×2C}: (K x)_{p, 2c+j} = (W_{c,j} ⋆ Pad x)_p, i.e. C discrete gradients (2 components each) at every pixel.
 * Two parameterizations:
 *  - 'learned': W = c·(θ − mean), θ = all filter taps in units of c = `tapScale` (s·s·2C numbers, layout [s][s][2C]),
 *    each filter with its mean removed — a learned, consistent (K·constant = 0) discretization of the gradient (c keeps
 *    θ of order one, so step sizes transfer between problems);
 *  - 'scaled':  θ = (log λ), K = e^{θ₀} W₀ with fixed filters W₀ — e.g. standard forward differences with a learned weight.
 */
export class ConvOperatorFamily {
  readonly parameterCount: number;

  constructor(
    readonly kind: 'learned' | 'scaled',
    readonly size: number,
    readonly groups: number,
    /** The fixed filters of a 'scaled' family, [s][s][2C] flattened. */
    readonly base?: Float32Array,
    /** c of a 'learned' family: W = c·θ. */
    readonly tapScale = 1,
  ) {
    if (kind === 'scaled' && (!base || base.length !== size * size * 2 * groups)) throw new Error('a scaled operator family needs base filters of length s·s·2C');
    this.parameterCount = kind === 'learned' ? size * size * 2 * groups : 1;
  }

  /** Standard forward differences (s = 2, C = 1): (x_{i,j+1} − x_{i,j}, x_{i+1,j} − x_{i,j}) with weight e^θ. */
  static forwardDifferences(): ConvOperatorFamily {
    // [i][j][channel]: channel 0 horizontal, 1 vertical.
    const w = new Float32Array(8);
    const at = (i: number, j: number, c: number) => (i * 2 + j) * 2 + c;
    w[at(0, 0, 0)] = -1; w[at(0, 1, 0)] = 1;
    w[at(0, 0, 1)] = -1; w[at(1, 0, 1)] = 1;
    return new ConvOperatorFamily('scaled', 2, 1, w);
  }

  /**
   * θ of a learned family that starts near the standard forward differences with weight tapScale: group 0 is the 2×2
   * stencil (entries ±(1 − (C − 1)·share)) at the padding offset (so that share = 0 gives exactly standard TV); groups
   * c ≥ 1 have weight `share` and are, for init 'shifted', the same stencil at the other offsets of the window (cycling);
   * for init 'diverse', first the other discrete derivatives that fit the window (diagonal differences, second
   * derivatives (∂xx, ∂yy), the pair (∂xx − ∂yy, 2∂xy), central and distance-2 differences), then shifted stencils.
   * Plus seeded zero-mean noise of amplitude noise·share.
   */
  initialLearnedTheta(noise = 0, seed = 0, share = 0.1, init: LearnedInit = 'shifted'): Float64Array {
    const s = this.size, C = this.groups;
    const theta = new Float64Array(this.parameterCount);
    const at = (i: number, j: number, ch: number) => (i * s + j) * 2 * C + ch;
    const a = Math.floor((s - 1) / 2);
    // Stencils as (di, dj, value) around (a, a), one list per component; the shifted forward differences first.
    const fits = (st: Stencil) => st.every((comp) => comp.every(([di, dj]) => a + di >= 0 && a + di < s && a + dj >= 0 && a + dj < s));
    const shifted: Stencil[] = [forwardDifference(0, 0)];
    for (let i = 0; i < s - 1; i++) for (let j = 0; j < s - 1; j++) if (i !== a || j !== a) shifted.push(forwardDifference(i - a, j - a));
    const stencils = init === 'diverse' ? [shifted[0], ...DERIVATIVE_STENCILS.filter(fits), ...shifted.slice(1)] : shifted;
    for (let c = 0; c < C; c++) {
      const w = c === 0 ? 1 - (C - 1) * share : share;
      stencils[c % stencils.length].forEach((comp, j) => comp.forEach(([di, dj, v]) => (theta[at(a + di, a + dj, 2 * c + j)] += w * v)));
    }
    let state = (seed * 2654435761 + 1) >>> 0;
    const uniform = () => {
      state = (Math.imul(state ^ (state >>> 15), 2246822507) + 0x9e3779b9) >>> 0;
      state ^= state >>> 13;
      return (state >>> 0) / 4294967296;
    };
    for (let ch = 0; ch < 2 * C; ch++) {
      const e = Array.from({ length: s * s }, () => noise * share * (2 * uniform() - 1));
      const mean = e.reduce((a, b) => a + b, 0) / e.length;
      e.forEach((v, k) => (theta[k * 2 * C + ch] += v - mean));
    }
    return theta;
  }

  /** Removes the mean of every filter (channel) of taps laid out [s][s][2C]. */
  private centered(taps: ArrayLike<number>): Float64Array {
    const channels = 2 * this.groups, n = this.size * this.size;
    const out = Float64Array.from(taps);
    for (let ch = 0; ch < channels; ch++) {
      let mean = 0;
      for (let k = 0; k < n; k++) mean += out[k * channels + ch] / n;
      for (let k = 0; k < n; k++) out[k * channels + ch] -= mean;
    }
    return out;
  }

  /** The filters W(θ), [s][s][2C] flattened. */
  filters(theta: ArrayLike<number>): Float32Array {
    if (theta.length !== this.parameterCount) throw new Error(`θ has ${theta.length} entries, the operator family ${this.parameterCount}`);
    if (this.kind === 'learned') return Float32Array.from(this.centered(theta), (t) => t * this.tapScale);
    const scale = Math.exp(theta[0]);
    return this.base!.map((v) => v * scale);
  }

  bind(theta: ArrayLike<number>): Promise<BoundConvOperator> {
    return BoundConvOperator.create(this.filters(theta), this.size, this.groups);
  }

  /** ∇_θ from the gradient with respect to the taps (chain rule of the parameterization). */
  thetaGradient(theta: ArrayLike<number>, tapGradient: Float32Array): Float64Array {
    if (this.kind === 'learned') return this.centered(tapGradient).map((g) => g * this.tapScale);
    const W = this.filters(theta);
    let s = 0;
    for (let k = 0; k < W.length; k++) s += tapGradient[k] * W[k];
    return Float64Array.from([s]);
  }

  /** A constant c with ‖∇_θ⟨K_θ a, b⟩‖ ≤ c‖a‖‖b‖. */
  bilinearBound(theta: ArrayLike<number>): number {
    if (this.kind === 'learned') return this.size * this.tapScale;
    const W = this.filters(theta);
    return this.size * Math.hypot(...W);
  }
}

/**
 * ‖conv_W‖ for 'valid' multi-channel convolutions: ‖conv_W‖² ≤ sup_ω Σ_ch |Ŵ_ch(ω)|² (the valid convolution is a
 * restriction of a circular one), evaluated on a fine frequency grid with a 2% margin. This bounds K away from the
 * border; BoundConvOperator adds the border modes of the padding by power iteration.
 */
export function convOperatorNorm(W: Float32Array, s: number, channels: number, grid = 128): number {
  const cos = Array.from({ length: grid * s }, (_, k) => Math.cos((2 * Math.PI * Math.floor(k / s) * (k % s)) / grid));
  const sin = Array.from({ length: grid * s }, (_, k) => Math.sin((2 * Math.PI * Math.floor(k / s) * (k % s)) / grid));
  const power = new Float64Array(grid * grid);
  for (let ch = 0; ch < channels; ch++) {
    // Separable DFT: R[i][b] = Σ_j W[i][j] e^{−i ω_b j}, then Ŵ[a][b] = Σ_i e^{−i ω_a i} R[i][b].
    const rRe = new Float64Array(s * grid), rIm = new Float64Array(s * grid);
    for (let i = 0; i < s; i++) for (let b = 0; b < grid; b++) {
      let re = 0, im = 0;
      for (let j = 0; j < s; j++) {
        const v = W[(i * s + j) * channels + ch];
        re += v * cos[b * s + j];
        im -= v * sin[b * s + j];
      }
      rRe[i * grid + b] = re;
      rIm[i * grid + b] = im;
    }
    for (let a = 0; a < grid; a++) for (let b = 0; b < grid; b++) {
      let re = 0, im = 0;
      for (let i = 0; i < s; i++) {
        const c = cos[a * s + i], sn = sin[a * s + i];
        const xr = rRe[i * grid + b], xi = rIm[i * grid + b];
        re += c * xr + sn * xi;
        im += c * xi - sn * xr;
      }
      power[a * grid + b] += re * re + im * im;
    }
  }
  let best = 0;
  for (const v of power) if (v > best) best = v;
  return 1.02 * Math.sqrt(best);
}

/** K_θ at one θ: the filter tensors (kept until dispose) and its norm bound. */
export class BoundConvOperator {
  readonly W: tf.Tensor4D;
  /** W flipped in space, one filter per input channel, [s, s, 2C, 1]: Kᵀ's depthwise filters. */
  private readonly flipped: tf.Tensor4D;
  /** Delta filters (a + b + 1 taps, 1 at a) along rows and columns: 'valid' convolutions with them crop the padding. */
  private readonly cropRows: tf.Tensor4D;
  private readonly cropCols: tf.Tensor4D;
  /** ‖K‖ bound (set by `create`). */
  norm = 0;
  readonly channels: number;

  /** K for the taps, with its norm bound (the border part measured by power iteration). */
  static async create(taps: Float32Array, size: number, groups: number): Promise<BoundConvOperator> {
    const op = new BoundConvOperator(taps, size, groups);
    // Interior: the symbol bound; border (replicated pixels): power iteration on a 24×24 domain, with a 5% margin.
    op.norm = Math.max(convOperatorNorm(taps, size, op.channels), 1.05 * (await op.powerNorm(24, 60)));
    return op;
  }

  private constructor(readonly taps: Float32Array, readonly size: number, readonly groups: number) {
    this.channels = 2 * groups;
    this.W = tf.keep(tf.tensor4d(taps, [size, size, 1, this.channels]));
    this.flipped = tf.keep(tf.tidy(() => tf.reverse(tf.reshape(this.W, [size, size, this.channels, 1]), [0, 1])));
    const [a, b] = this.pad;
    const delta = Array.from({ length: a + b + 1 }, (_, k) => (k === a ? 1 : 0));
    this.cropRows = tf.keep(tf.tensor4d(delta, [a + b + 1, 1, 1, 1]));
    this.cropCols = tf.keep(tf.tensor4d(delta, [1, a + b + 1, 1, 1]));
  }

  /** ‖K‖ on one m×m image by power iteration on KᵀK (from below). */
  async powerNorm(m: number, iterations: number): Promise<number> {
    const shape: [number, number, number, number] = [1, m, m, 1];
    let v = tf.tidy(() => tf.div(tf.randomUniform(shape, 0.5, 1.5, 'float32', 7), m)) as ImageBatch;
    let lambda = 0;
    for (let k = 0; k < iterations; k++) {
      const next = tf.tidy(() => this.adjoint(this.apply(v)));
      const [nrm, vNorm] = await readScalars(tf.norm(next), tf.norm(v));
      lambda = nrm / (vNorm || 1);
      v.dispose();
      v = tf.tidy(() => tf.div(next, nrm || 1)) as ImageBatch;
      next.dispose();
    }
    v.dispose();
    return Math.sqrt(lambda);
  }

  /** Padding before and after (rows and columns alike). */
  get pad(): [number, number] {
    return [Math.floor((this.size - 1) / 2), Math.ceil((this.size - 1) / 2)];
  }

  /** Symmetric (edge-replicating) padding. */
  padImage(x: ImageBatch): ImageBatch {
    const [a, b] = this.pad;
    return tf.mirrorPad(x, [[0, 0], [a, b], [a, b], [0, 0]], 'symmetric');
  }

  /**
   * Padᵀ: folds every padded row and column back onto the pixel it copies — the interior by a cropping convolution,
   * plus the a leading and b trailing lines reversed onto the first a and last b pixels (padded index a − k copies
   * pixel k − 1, index a + len − 1 + k copies pixel len − k). Full-size slices are slow on wasm; these are not.
   * u is [n, h + a + b, w + a + b, 1]; the result [n, h, w, 1].
   */
  padAdjoint(u: ImageBatch): ImageBatch {
    const [a, b] = this.pad;
    if (a === 0 && b === 0) return u;
    return tf.tidy(() => {
      const fold = (t: tf.Tensor4D, axis: 1 | 2): tf.Tensor4D => {
        const len = t.shape[axis] - a - b;
        const lines = (start: number, count: number) => {
          const begin = [0, 0, 0, 0], sizes = [...t.shape];
          begin[axis] = start;
          sizes[axis] = count;
          return tf.reverse(tf.slice(t, begin, sizes), axis);
        };
        const place = (r: tf.Tensor4D, before: number, after: number) => {
          const p: [number, number][] = [[0, 0], [0, 0], [0, 0], [0, 0]];
          p[axis] = [before, after];
          return tf.pad(r, p);
        };
        let out = tf.conv2d(t, axis === 1 ? this.cropRows : this.cropCols, 1, 'valid');
        if (a > 0) out = tf.add(out, place(lines(0, a), 0, len - a));
        if (b > 0) out = tf.add(out, place(lines(a + len, b), len - b, 0));
        return out;
      };
      return fold(fold(u, 1), 2) as ImageBatch;
    });
  }

  apply(x: ImageBatch): DualField {
    return tf.tidy(() => tf.conv2d(this.padImage(x), this.W, 1, 'valid'));
  }

  /**
   * Kᵀy = Padᵀ Σ_ch (W_ch ∗ y_ch), the full convolutions computed as one depthwise correlation of y (zero-padded by
   * s − 1) with the flipped filters, summed over channels (on wasm 2.5× faster than conv2dTranspose).
   */
  adjoint(y: DualField): ImageBatch {
    return tf.tidy(() => this.padAdjoint(tf.sum(tf.depthwiseConv2d(y, this.flipped, 1, this.size - 1), 3, true)));
  }

  /** ∂/∂W [⟨K a₁, b₁⟩ + ⟨K a₂, b₂⟩] as taps [s][s][2C]: Σ_{n,p} (Pad a)[n, p + (i, j)] b[n, p, ch]. */
  async tapGradient(pairs: [ImageBatch, DualField][]): Promise<Float32Array> {
    const s = this.size;
    const g = tf.tidy(() => {
      const padded = pairs.map(([a, b]) => [this.padImage(a), b] as const);
      const taps: tf.Tensor[] = [];
      for (let i = 0; i < s; i++) for (let j = 0; j < s; j++) {
        let acc: tf.Tensor | undefined;
        for (const [a, b] of padded) {
          const [n, hh, ww] = b.shape;
          const part = tf.sum(tf.mul(tf.slice(a, [0, i, j, 0], [n, hh, ww, 1]), b), [0, 1, 2]);
          acc = acc ? tf.add(acc, part) : part;
        }
        taps.push(acc!);
      }
      return tf.stack(taps);
    });
    const [out] = await readTensors(g);
    return out;
  }

  dispose(): void {
    tf.dispose([this.W, this.flipped, this.cropRows, this.cropCols]);
  }
}

/** Initial stencils of a learned family (see ConvOperatorFamily.initialLearnedTheta). */
export type LearnedInit = 'shifted' | 'diverse';

/** A two-component stencil: per component, taps (di, dj, value) relative to the window's padding offset. */
type Stencil = [number, number, number][][];

/** (x_{i,j+1} − x_{i,j}, x_{i+1,j} − x_{i,j}) at offset (oi, oj). */
function forwardDifference(oi: number, oj: number): Stencil {
  return [[[oi, oj, -1], [oi, oj + 1, 1]], [[oi, oj, -1], [oi + 1, oj, 1]]];
}

/** Zero-mean derivative stencils beyond the forward differences (each kept only where it fits the window). */
const DERIVATIVE_STENCILS: Stencil[] = [
  [[[0, 0, -1], [1, 1, 1]], [[0, 1, -1], [1, 0, 1]]], // diagonal differences
  [[[0, -1, 1], [0, 0, -2], [0, 1, 1]], [[-1, 0, 1], [0, 0, -2], [1, 0, 1]]], // (∂xx, ∂yy)
  [[[0, -1, 1], [0, 1, 1], [-1, 0, -1], [1, 0, -1]], [[1, 1, 0.5], [-1, -1, 0.5], [1, -1, -0.5], [-1, 1, -0.5]]], // (∂xx − ∂yy, 2∂xy)
  [[[0, -1, -0.5], [0, 1, 0.5]], [[-1, 0, -0.5], [1, 0, 0.5]]], // central differences
  [[[0, 0, -0.5], [0, 2, 0.5]], [[0, 0, -0.5], [2, 0, 0.5]]], // distance-2 differences
];
