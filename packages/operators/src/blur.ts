import { tf, type ForwardOperator, type ImageBatch, type Tensor } from '@bilevel/core';
import { isAxisSymmetric, isPointSymmetric, type BlurKernel } from './kernels.js';
import { NORM_SAFETY_FACTOR, powerIteration, type HostLinearMap } from './norm.js';
import { Cached, RowGather, SegmentSum, fromPixelMajor, linearWithTranspose, toPixelMajor, transposeEntries } from './sparse.js';

export const BOUNDARIES = ['reflect', 'zero', 'periodic'] as const;
/**
 * How the image continues outside its support:
 * - `reflect`: half-sample symmetric (… c b a | a b c … , the edge pixel repeated; scipy.ndimage "reflect",
 *   MATLAB "symmetric", the Neumann condition of the deblurring literature), repeated for wide kernels;
 * - `zero`: zeros;
 * - `periodic`: wrap-around.
 */
export type Boundary = (typeof BOUNDARIES)[number];

/** Maps an index of the extended signal to [0, n) for a boundary (reflect/periodic). */
function boundaryIndex(i: number, n: number, boundary: Boundary): number {
  if (boundary === 'periodic') return ((i % n) + n) % n;
  const j = ((i % (2 * n)) + 2 * n) % (2 * n);
  return j < n ? j : 2 * n - 1 - j;
}

/**
 * Blur A x = k ∗ x (a true convolution: the kernel is flipped, so motion kernels point the stated way) with
 * the chosen boundary, mapping [n, h, w, 1] to [n, h, w, 1].
 *
 * Kernel: the image, laid out pixel-major with the batch as channels ([1, h, w, n]), is convolved by
 * `depthwiseConv2d` (one channel per image: ~3× faster on wasm than a one-channel conv2d of [n, h, w, 1]).
 * - zero: a padded "same" convolution; the adjoint is the same convolution with the rotated kernel and
 *   the padding swapped.
 * - reflect / periodic: A = C P with P the padding as a row gather by a precomputed index map and C a
 *   valid convolution; Aᵀ = Pᵀ Cᵀ, with Cᵀ the full correlation with the rotated kernel and Pᵀ the exact
 *   fold of the padding back onto the image (a sorted segment sum over the same index map). That makes
 *   the reflect adjoint exact (tfjs's own MirrorPad gradient only crops, which is not the transpose).
 */
export class BlurOperator implements ForwardOperator {
  readonly name = 'blur';
  readonly rangeShape: readonly number[];
  readonly minEigenvalueAtA: number;
  private readonly pad: { top: number; bottom: number; left: number; right: number };
  private readonly gather?: RowGather;
  private readonly fold?: SegmentSum;
  private readonly maxMultiplicity: number;
  private readonly filters = new Map<string, Cached<tf.Tensor4D>>();
  private normSq: number | undefined;

  constructor(readonly domainShape: readonly [number, number], readonly kernel: BlurKernel, readonly boundary: Boundary) {
    const [h, w] = domainShape;
    this.rangeShape = [h, w, 1];
    const { height: kh, width: kw, centerRow, centerCol } = kernel;
    if (!kernel.data.every(Number.isFinite) || !kernel.data.some((v) => v !== 0)) throw new Error('blur kernel must be finite and not all zero');
    // (A x)[i, j] = Σ k[a, b] x[i − (a − cr), j − (b − cc)]: the flipped kernel correlates a padded x.
    this.pad = { top: kh - 1 - centerRow, bottom: centerRow, left: kw - 1 - centerCol, right: centerCol };
    this.maxMultiplicity = 1;
    if (boundary !== 'zero') {
      const H = h + kh - 1, W = w + kw - 1;
      const src = new Int32Array(H * W);
      const count = new Int32Array(h * w);
      for (let i = 0; i < H; i++) {
        const r = boundaryIndex(i - this.pad.top, h, boundary);
        for (let j = 0; j < W; j++) {
          const s = r * w + boundaryIndex(j - this.pad.left, w, boundary);
          src[i * W + j] = s;
          count[s]++;
        }
      }
      this.maxMultiplicity = count.reduce((m, c) => Math.max(m, c), 0);
      this.gather = new RowGather(src);
      const t = transposeEntries(src, Int32Array.from({ length: H * W }, (_, i) => i), h * w);
      this.fold = new SegmentSum(t.index, t.segment, h * w);
    }
    this.minEigenvalueAtA = blurMinEigenvalue(kernel, h, w, boundary);
  }

  /** Shape [kh, kw, n, 1]: the kernel for each of n images; `rotated` is the adjoint's kernel. */
  private filter(n: number, rotated: boolean): tf.Tensor4D {
    const key = `${n}:${rotated}`;
    let f = this.filters.get(key);
    if (!f) {
      const { height: kh, width: kw, data } = this.kernel;
      f = new Cached(() => {
        const v = new Float32Array(kh * kw * n);
        for (let a = 0; a < kh; a++) for (let b = 0; b < kw; b++) {
          // correlation form of the convolution: f[a, b] = k[kh−1−a, kw−1−b]; its rotation is k itself.
          const value = rotated ? data[a * kw + b] : data[(kh - 1 - a) * kw + (kw - 1 - b)];
          v.fill(value, (a * kw + b) * n, (a * kw + b + 1) * n);
        }
        return tf.tensor4d(v, [kh, kw, n, 1]);
      });
      this.filters.set(key, f);
    }
    return f.get();
  }

  apply(x: ImageBatch): Tensor {
    return linearWithTranspose((t) => this.convolve(t), (t) => this.correlate(t), x);
  }

  adjoint(y: Tensor): ImageBatch {
    return linearWithTranspose((t) => this.correlate(t), (t) => this.convolve(t), y) as ImageBatch;
  }

  private convolve(x: Tensor): Tensor {
    const [h, w] = this.domainShape;
    const { top, bottom, left, right } = this.pad;
    return tf.tidy(() => {
      const n = x.shape[0];
      const X = toPixelMajor(x);
      let out: tf.Tensor4D;
      if (this.boundary === 'zero') {
        out = tf.depthwiseConv2d(tf.reshape(X, [1, h, w, n]) as tf.Tensor4D, this.filter(n, false), 1, [[0, 0], [top, bottom], [left, right], [0, 0]]);
      } else {
        const P = this.gather!.apply(X);
        out = tf.depthwiseConv2d(tf.reshape(P, [1, h + top + bottom, w + left + right, n]) as tf.Tensor4D, this.filter(n, false), 1, 'valid');
      }
      return fromPixelMajor(tf.reshape(out, [h * w, n]), [h, w, 1]);
    });
  }

  private correlate(y: Tensor): Tensor {
    const [h, w] = this.domainShape;
    const { height: kh, width: kw } = this.kernel;
    const { top, bottom, left, right } = this.pad;
    return tf.tidy(() => {
      const n = y.shape[0];
      const Y = tf.reshape(toPixelMajor(y), [1, h, w, n]) as tf.Tensor4D;
      let X: Tensor;
      if (this.boundary === 'zero') {
        X = tf.reshape(tf.depthwiseConv2d(Y, this.filter(n, true), 1, [[0, 0], [bottom, top], [right, left], [0, 0]]), [h * w, n]);
      } else {
        const Z = tf.depthwiseConv2d(Y, this.filter(n, true), 1, [[0, 0], [kh - 1, kh - 1], [kw - 1, kw - 1], [0, 0]]);
        X = this.fold!.apply(tf.reshape(Z, [(h + kh - 1) * (w + kw - 1), n]));
      }
      return fromPixelMajor(X, [h, w, 1]);
    });
  }

  /**
   * ‖A‖² upper estimate, cached: the power-iteration value × 1.01 (float64, on the CPU copy `hostMap`), capped by
   * the analytic bound (Σ|k|)² · (max pixel multiplicity of the padding, 1 where the bound needs none).
   */
  normSquared(): number {
    if (this.normSq === undefined) {
      const l1 = this.kernel.data.reduce((s, v) => s + Math.abs(v), 0);
      const tight = this.boundary !== 'reflect' || isAxisSymmetric(this.kernel);
      const bound = l1 * l1 * (tight ? 1 : this.maxMultiplicity);
      this.normSq = Math.min(bound, NORM_SAFETY_FACTOR * powerIteration(this.hostMap()));
    }
    return this.normSq;
  }

  /**
   * A on one image in float64 on the CPU, as the tensor path: P = the image extended by the boundary (zeros for
   * 'zero'), A x = P ⋆ f, the valid correlation with f[a, b] = k[kh−1−a, kw−1−b]; Aᵀ y folds the full
   * correlation Σ f[a, b] y[i, j] at (i + a, j + b) back onto the image pixels P was read from.
   */
  hostMap(): HostLinearMap {
    const [h, w] = this.domainShape;
    const { height: kh, width: kw, data } = this.kernel;
    const { top, left } = this.pad;
    const H = h + kh - 1, W = w + kw - 1;
    const index = (i: number, n: number) => (this.boundary === 'zero' ? (i >= 0 && i < n ? i : -1) : boundaryIndex(i, n, this.boundary));
    const src = new Int32Array(H * W);
    for (let I = 0; I < H; I++) {
      const r = index(I - top, h);
      for (let J = 0; J < W; J++) {
        const c = index(J - left, w);
        src[I * W + J] = r < 0 || c < 0 ? -1 : r * w + c;
      }
    }
    const f = Float64Array.from({ length: kh * kw }, (_, t) => data[kh * kw - 1 - t]);
    return {
      domainSize: h * w,
      apply: (x) => {
        const P = Float64Array.from(src, (s) => (s < 0 ? 0 : x[s]));
        const y = new Float64Array(h * w);
        for (let i = 0; i < h; i++) for (let a = 0; a < kh; a++) for (let b = 0; b < kw; b++) {
          const k = f[a * kw + b], o = (i + a) * W + b;
          for (let j = 0; j < w; j++) y[i * w + j] += k * P[o + j];
        }
        return y;
      },
      adjoint: (y) => {
        const Z = new Float64Array(H * W);
        for (let i = 0; i < h; i++) for (let a = 0; a < kh; a++) for (let b = 0; b < kw; b++) {
          const k = f[a * kw + b], o = (i + a) * W + b;
          for (let j = 0; j < w; j++) Z[o + j] += k * y[i * w + j];
        }
        const x = new Float64Array(h * w);
        for (let t = 0; t < H * W; t++) if (src[t] >= 0) x[src[t]] += Z[t];
        return x;
      },
    };
  }

  /** The measurement itself. */
  naiveReconstruction(y: Tensor): ImageBatch {
    return tf.tidy(() => tf.reshape(y, [y.shape[0], ...this.domainShape, 1]).clone()) as ImageBatch;
  }

  /** Frees the cached index maps and kernels. */
  dispose(): void {
    this.gather?.dispose();
    this.fold?.dispose();
    for (const f of this.filters.values()) f.dispose();
    this.filters.clear();
  }
}

/**
 * A certified lower bound of λ_min(AᵀA) (0 when none is known or A is singular):
 * - periodic: A is (block) circulant, λ_min = min over the DFT grid of |k̂|² (exact);
 * - reflect with a kernel symmetric along each axis: A is diagonalised by the 2-D DCT-II, with eigenvalues
 *   the real symbol f(ω) = Σ k[a,b] cos(ω₁a) cos(ω₂b) at ω = (πp/h, πq/w): λ_min = min f² (exact);
 * - zero with a point-symmetric kernel: A is symmetric with spectrum in [min f, max f] over the continuous
 *   frequency square; min f is bounded below by its minimum on a grid minus a Lipschitz margin.
 * Anything else reports 0.
 */
export function blurMinEigenvalue(k: BlurKernel, h: number, w: number, boundary: Boundary): number {
  const { height: kh, width: kw, data, centerRow: cr, centerCol: cc } = k;
  const symbol = (w1: number, w2: number): number => {
    let s = 0;
    for (let a = 0; a < kh; a++) for (let b = 0; b < kw; b++) s += data[a * kw + b] * Math.cos(w1 * (a - cr) + w2 * (b - cc));
    return s;
  };
  if (boundary === 'periodic') {
    // k̂(2πp/h, 2πq/w) = Σ_a e^{−2πi p a/h} S_a(q), S_a(q) = Σ_b k[a,b] e^{−2πi q b/w}.
    const re = new Float64Array(kh * w), im = new Float64Array(kh * w);
    for (let a = 0; a < kh; a++) for (let q = 0; q < w; q++) {
      let sr = 0, si = 0;
      for (let b = 0; b < kw; b++) {
        const t = (-2 * Math.PI * q * b) / w;
        sr += data[a * kw + b] * Math.cos(t);
        si += data[a * kw + b] * Math.sin(t);
      }
      re[a * w + q] = sr;
      im[a * w + q] = si;
    }
    let min = Infinity;
    for (let p = 0; p < h; p++) for (let q = 0; q < w; q++) {
      let sr = 0, si = 0;
      for (let a = 0; a < kh; a++) {
        const t = (-2 * Math.PI * p * a) / h, c = Math.cos(t), s = Math.sin(t);
        sr += c * re[a * w + q] - s * im[a * w + q];
        si += s * re[a * w + q] + c * im[a * w + q];
      }
      min = Math.min(min, sr * sr + si * si);
    }
    return min * (1 - 1e-6);
  }
  if (boundary === 'reflect') {
    if (!isAxisSymmetric(k)) return 0;
    let min = Infinity;
    for (let p = 0; p < h; p++) for (let q = 0; q < w; q++) min = Math.min(min, symbol((Math.PI * p) / h, (Math.PI * q) / w) ** 2);
    return min * (1 - 1e-6);
  }
  if (!isPointSymmetric(k)) return 0;
  // f(ω) = Re Σ_a e^{iω₁a′} S_a(ω₂), S_a(ω₂) = Σ_b k[a,b] e^{iω₂b′} (a′ = a − cr, b′ = b − cc), on a grid over
  // ω₁ ∈ [0, π], ω₂ ∈ [−π, π] (f is even). Between grid points f ≥ f(g) − |∂₁f| d₁/2 − |∂₂f| d₂/2 − M/2 with
  // M = Σ|k| (|a′| d₁/2 + |b′| d₂/2)² bounding the second-order term, so min f is certified from below.
  const G = 256, d1 = Math.PI / G, d2 = (2 * Math.PI) / G;
  const n2 = G + 1;
  const sRe = new Float64Array(kh * n2), sIm = new Float64Array(kh * n2), tRe = new Float64Array(kh * n2), tIm = new Float64Array(kh * n2);
  let M = 0;
  for (let a = 0; a < kh; a++) for (let b = 0; b < kw; b++) M += Math.abs(data[a * kw + b]) * (Math.abs(a - cr) * d1 / 2 + Math.abs(b - cc) * d2 / 2) ** 2;
  for (let a = 0; a < kh; a++) for (let q = 0; q < n2; q++) {
    const w2 = -Math.PI + q * d2;
    let re = 0, im = 0, dre = 0, dim = 0;
    for (let b = 0; b < kw; b++) {
      const v = data[a * kw + b], bb = b - cc, c = Math.cos(w2 * bb), s = Math.sin(w2 * bb);
      re += v * c;
      im += v * s;
      dre -= v * bb * s;
      dim += v * bb * c;
    }
    sRe[a * n2 + q] = re; sIm[a * n2 + q] = im; tRe[a * n2 + q] = dre; tIm[a * n2 + q] = dim;
  }
  let low = Infinity, high = -Infinity;
  for (let p = 0; p <= G; p++) {
    const w1 = p * d1;
    for (let q = 0; q < n2; q++) {
      let f = 0, g1 = 0, g2 = 0;
      for (let a = 0; a < kh; a++) {
        const aa = a - cr, c = Math.cos(w1 * aa), s = Math.sin(w1 * aa), i = a * n2 + q;
        f += c * sRe[i] - s * sIm[i];
        g1 += aa * (-s * sRe[i] - c * sIm[i]);
        g2 += c * tRe[i] - s * tIm[i];
      }
      const slack = (Math.abs(g1) * d1) / 2 + (Math.abs(g2) * d2) / 2 + M / 2;
      low = Math.min(low, f - slack);
      high = Math.max(high, f + slack);
    }
  }
  const bound = low > 0 ? low : high < 0 ? -high : 0;
  return bound * bound * (1 - 1e-6);
}
