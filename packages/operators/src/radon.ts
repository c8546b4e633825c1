import { tf, type ForwardOperator, type ImageBatch, type Tensor } from '@bilevel/core';
import { fbpAngleWeights, filterMatrix, type FbpFilter } from './fbp.js';
import { NORM_SAFETY_FACTOR, powerIteration, type HostLinearMap } from './norm.js';
import { Cached, RowGather, SegmentSum, fromPixelMajor, linearWithTranspose, toPixelMajor, transposeEntries } from './sparse.js';

/**
 * 2-D parallel-beam geometry. The image occupies pixels of side `pixelSize` (1 by default, so line integrals
 * are in pixel units) centred on the origin; pixel (r, c) sits at X = c − (w−1)/2, Y = (h−1)/2 − r (pixel
 * units, Y up). Angle θ is the direction of the detector axis n = (cos θ, sin θ); the ray of detector j is
 * {X n_x + Y n_y = s_j}, s_j = (j − (nd−1)/2)·detectorSpacing (pixel units). At θ = 0 rays run down columns.
 */
export interface RadonGeometry {
  readonly height: number;
  readonly width: number;
  /** Projection angles in radians. */
  readonly angles: readonly number[];
  readonly detectors: number;
  /** Detector pitch in pixel units. */
  readonly detectorSpacing: number;
  /** Side of a pixel in the length unit of the line integrals. */
  readonly pixelSize: number;
}

export interface RadonGeometryOptions {
  /** Number of equally spaced angles (default 180), over `angleRange` degrees from `angleStart`. */
  angles?: number;
  angleRange?: number;
  angleStart?: number;
  /** Explicit angles in degrees (instead of angles/angleRange/angleStart). */
  angleList?: readonly number[];
  /** Default ⌈diagonal / detectorSpacing⌉, so that every ray through the image is measured. */
  detectors?: number;
  detectorSpacing?: number;
  pixelSize?: number;
}

export function radonGeometry(height: number, width: number, o: RadonGeometryOptions = {}): RadonGeometry {
  const spacing = o.detectorSpacing ?? 1;
  const count = o.angles ?? 180, range = o.angleRange ?? 180, start = o.angleStart ?? 0;
  const degrees = o.angleList ?? Array.from({ length: count }, (_, k) => start + (k * range) / count);
  return {
    height,
    width,
    angles: degrees.map((d) => (d * Math.PI) / 180),
    detectors: o.detectors ?? Math.ceil(Math.hypot(height, width) / spacing - 1e-9),
    detectorSpacing: spacing,
    pixelSize: o.pixelSize ?? 1,
  };
}

/** Detector centres s_j in pixel units. */
export function detectorPositions(g: RadonGeometry): Float64Array {
  return Float64Array.from({ length: g.detectors }, (_, j) => (j - (g.detectors - 1) / 2) * g.detectorSpacing);
}

/** Sub-pixel resolution of the interpolation weights: positions are rounded to 1/SUBPIXEL of a pixel (finer
 * rounding changes the analytic-disk error and the FBP PSNR by < 1e-4 and < 0.1 dB, and costs ~20% more time). */
export const SUBPIXEL = 8;

/**
 * The sparse structure of Joseph's projector A = Δ S U, shared by apply and adjoint:
 * - U (interpolation): for every "interval" m between two neighbouring pixels of a row (horizontal
 *   intervals, for steep rays) or of a column (vertical intervals, for flat rays), with zeros beyond the
 *   image, U makes SUBPIXEL linearly interpolated values (1 − q/Q) x_left + (q/Q) x_right, q = 0..Q−1;
 * - S (0/1): each ray sums, at every row (column) it crosses, the interpolated value nearest to its
 *   crossing point; the entries (fine value, ray) are stored sorted by ray for S and by fine value for Sᵀ;
 * - Δ = pixelSize / max(|cos θ|, |sin θ|): the path length per row (column) step, per angle.
 * Aᵀ = Uᵀ Sᵀ Δ uses the same entries and the same weights, so it is the transpose by construction.
 */
class JosephStructure {
  readonly intervals: number;
  readonly entries: number;
  readonly endpoints: RowGather;
  readonly project: SegmentSum;
  readonly backproject: SegmentSum;
  readonly fold: SegmentSum;
  readonly levels: Cached<tf.Tensor2D>;
  readonly stepLength: Cached<tf.Tensor2D>;
  /** The CPU copy of the entries: fine value (interval m·Q + q) and ray of each, and each interval's two end pixels. */
  private readonly host: { fine: Int32Array; ray: Int32Array; ends: Int32Array };

  constructor(readonly g: RadonGeometry) {
    const { height: h, width: w, detectors: nd, angles } = g;
    const Q = SUBPIXEL;
    const MH = h * (w + 1);
    const M0 = MH + w * (h + 1);
    this.intervals = M0;
    const rays = angles.length * nd;
    const cap = rays * Math.max(h, w);
    const fine = new Int32Array(cap), ray = new Int32Array(cap);
    let e = 0;
    const s = detectorPositions(g);
    // Interval layout: horizontal intervals m = r·(w+1) + i (interval i of row r), vertical ones
    // m = MH + col·(h+1) + i; neighbouring rays of an angle touch neighbouring intervals.
    const push = (t: number, n: number, base: number, rayId: number) => {
      // t = position + 1 along the interval axis, in (0, n + 1); interval i holds [i − 1, i).
      if (!(t > 0 && t < n + 1)) return;
      let i = Math.floor(t);
      let q = Math.round((t - i) * Q);
      if (q === Q) {
        i++;
        q = 0;
      }
      if (i > n || (i === 0 && q === 0)) return;
      fine[e] = (base + i) * Q + q;
      ray[e] = rayId;
      e++;
    };
    angles.forEach((theta, k) => {
      const c = Math.cos(theta), sn = Math.sin(theta);
      for (let j = 0; j < nd; j++) {
        const rayId = k * nd + j;
        if (Math.abs(c) >= Math.abs(sn)) {
          // steep ray: one sample per row r at column (s_j − Y_r sin θ)/cos θ + (w−1)/2.
          const a = (s[j] - ((h - 1) / 2) * sn) / c + (w - 1) / 2, b = sn / c;
          for (let r = 0; r < h; r++) push(a + b * r + 1, w, r * (w + 1), rayId);
        } else {
          // flat ray: one sample per column at row (h−1)/2 − (s_j − X_col cos θ)/sin θ.
          const a = (h - 1) / 2 - (s[j] + ((w - 1) / 2) * c) / sn, b = c / sn;
          for (let col = 0; col < w; col++) push(a + b * col + 1, h, MH + col * (h + 1), rayId);
        }
      }
    });
    this.entries = e;
    const fineIdx = fine.slice(0, e), rayIdx = ray.slice(0, e);
    this.project = new SegmentSum(fineIdx, rayIdx, rays);
    const t = transposeEntries(fineIdx, rayIdx, Q * M0);
    this.backproject = new SegmentSum(t.index, t.segment, Q * M0);

    // Endpoints of every interval in the pixel-major image with a zero row appended (index h·w).
    const zero = h * w;
    const lr = new Int32Array(2 * M0);
    for (let r = 0; r < h; r++) for (let i = 0; i <= w; i++) {
      const m = r * (w + 1) + i;
      lr[2 * m] = i >= 1 ? r * w + i - 1 : zero;
      lr[2 * m + 1] = i < w ? r * w + i : zero;
    }
    for (let col = 0; col < w; col++) for (let i = 0; i <= h; i++) {
      const m = MH + col * (h + 1) + i;
      lr[2 * m] = i >= 1 ? (i - 1) * w + col : zero;
      lr[2 * m + 1] = i < h ? i * w + col : zero;
    }
    this.endpoints = new RowGather(lr);
    this.host = { fine: fineIdx, ray: rayIdx, ends: lr };
    const f = transposeEntries(lr, Int32Array.from({ length: 2 * M0 }, (_, i) => i), zero + 1);
    let keep = f.segment.length;
    while (keep > 0 && f.segment[keep - 1] === zero) keep--;
    this.fold = new SegmentSum(f.index.slice(0, keep), f.segment.slice(0, keep), zero);

    // levels[side, q]: the weight of the left (side 0) and right (side 1) end at sub-position q.
    this.levels = new Cached(() => tf.tensor2d(Float32Array.from({ length: 2 * Q }, (_, i) => (i < Q ? 1 - i / Q : (i - Q) / Q)), [2, Q]));
    this.stepLength = new Cached(() =>
      tf.tensor2d(Float32Array.from(angles, (th) => g.pixelSize / Math.max(Math.abs(Math.cos(th)), Math.abs(Math.sin(th)))), [angles.length, 1]));
  }

  /** x [n, h, w, 1] → y [n, A, nd]. */
  apply(x: Tensor): Tensor {
    const { detectors: nd, angles } = this.g;
    const M0 = this.intervals, Q = SUBPIXEL;
    return tf.tidy(() => {
      const n = x.shape[0];
      const X = tf.pad(toPixelMajor(x), [[0, 1], [0, 0]]);
      // [M0, 2, n] interval ends → [M0·n, 2] @ [2, Q] → the fine values [M0·Q, n] (m-major: a ray's samples stay local).
      let ends = tf.reshape(this.endpoints.apply(X), [M0, 2, n]);
      if (n > 1) ends = tf.transpose(ends, [0, 2, 1]);
      let fine = tf.reshape(tf.matMul(tf.reshape(ends, [M0 * n, 2]), this.levels.get()), [M0, n, Q]);
      if (n > 1) fine = tf.transpose(fine, [0, 2, 1]);
      const y = fromPixelMajor(this.project.apply(tf.reshape(fine, [M0 * Q, n])), [angles.length, nd]);
      return tf.mul(y, this.stepLength.get());
    });
  }

  /** y [n, A, nd] → x [n, h, w, 1]. */
  adjoint(y: Tensor): Tensor {
    const { height: h, width: w } = this.g;
    const M0 = this.intervals, Q = SUBPIXEL;
    return tf.tidy(() => {
      const n = y.shape[0];
      const Y = toPixelMajor(tf.mul(y, this.stepLength.get()));
      let fine = tf.reshape(this.backproject.apply(Y), [M0, Q, n]);
      if (n > 1) fine = tf.transpose(fine, [0, 2, 1]);
      let ends = tf.reshape(tf.matMul(tf.reshape(fine, [M0 * n, Q]), this.levels.get(), false, true), [M0, n, 2]);
      if (n > 1) ends = tf.transpose(ends, [0, 2, 1]);
      return fromPixelMajor(this.fold.apply(tf.reshape(ends, [2 * M0, n])), [h, w, 1]);
    });
  }

  /**
   * A = Δ S U on one image in float64 on the CPU, from the same entries: (A x)_ray = Δ_θ Σ_e [(1 − q/Q) x_L + (q/Q) x_R]
   * over the ray's entries (interval m = ⌊fine/Q⌋ with ends L, R, zero beyond the image); Aᵀ scatters them back.
   */
  hostMap(): HostLinearMap {
    const { height: h, width: w, detectors: nd, angles, pixelSize } = this.g;
    const { fine, ray, ends } = this.host, Q = SUBPIXEL, N = h * w;
    const step = Float64Array.from(angles, (th) => pixelSize / Math.max(Math.abs(Math.cos(th)), Math.abs(Math.sin(th))));
    return {
      domainSize: N,
      apply: (x) => {
        const xe = new Float64Array(N + 1);
        xe.set(x);
        const y = new Float64Array(angles.length * nd);
        for (let e = 0; e < fine.length; e++) {
          const m = Math.floor(fine[e] / Q), r = (fine[e] % Q) / Q;
          y[ray[e]] += (1 - r) * xe[ends[2 * m]] + r * xe[ends[2 * m + 1]];
        }
        for (let k = 0; k < y.length; k++) y[k] *= step[Math.floor(k / nd)];
        return y;
      },
      adjoint: (y) => {
        const xe = new Float64Array(N + 1);
        for (let e = 0; e < fine.length; e++) {
          const m = Math.floor(fine[e] / Q), r = (fine[e] % Q) / Q, t = step[Math.floor(ray[e] / nd)] * y[ray[e]];
          xe[ends[2 * m]] += (1 - r) * t;
          xe[ends[2 * m + 1]] += r * t;
        }
        return xe.subarray(0, N);
      },
    };
  }

  dispose(): void {
    for (const s of [this.endpoints, this.project, this.backproject, this.fold, this.levels, this.stepLength]) s.dispose();
  }
}

/**
 * Pixel-driven back-projection for FBP: (B q)(pixel) = Σ_θ q_θ(s_pixel), q linearly interpolated between
 * detectors (positions rounded to 1/SUBPIXEL of a detector), zero beyond the detector row. Unlike the
 * ray-driven transpose Aᵀ, its weights sum to the same value at every pixel, so FBP has no moiré.
 */
class PixelDrivenBackprojector {
  private readonly intervals: number;
  private readonly endpoints: RowGather;
  private readonly gatherFine: SegmentSum;
  private readonly levels: Cached<tf.Tensor2D>;

  constructor(readonly g: RadonGeometry) {
    const { height: h, width: w, detectors: nd, angles, detectorSpacing: ds } = g;
    const Q = SUBPIXEL, A = angles.length;
    const M = A * (nd + 1);
    this.intervals = M;
    const cap = h * w * A;
    const fine = new Int32Array(cap), pixel = new Int32Array(cap);
    let e = 0;
    const cos = angles.map(Math.cos), sin = angles.map(Math.sin);
    for (let r = 0; r < h; r++) for (let c = 0; c < w; c++) {
      const X = c - (w - 1) / 2, Y = (h - 1) / 2 - r;
      for (let k = 0; k < A; k++) {
        const t = (X * cos[k] + Y * sin[k]) / ds + (nd - 1) / 2 + 1;
        if (!(t > 0 && t < nd + 1)) continue;
        let i = Math.floor(t);
        let q = Math.round((t - i) * Q);
        if (q === Q) {
          i++;
          q = 0;
        }
        if (i > nd || (i === 0 && q === 0)) continue;
        fine[e] = (k * (nd + 1) + i) * Q + q;
        pixel[e] = r * w + c;
        e++;
      }
    }
    this.gatherFine = new SegmentSum(fine.slice(0, e), pixel.slice(0, e), h * w);
    const zero = A * nd;
    const lr = new Int32Array(2 * M);
    for (let k = 0; k < A; k++) for (let i = 0; i <= nd; i++) {
      const m = k * (nd + 1) + i;
      lr[2 * m] = i >= 1 ? k * nd + i - 1 : zero;
      lr[2 * m + 1] = i < nd ? k * nd + i : zero;
    }
    this.endpoints = new RowGather(lr);
    this.levels = new Cached(() => tf.tensor2d(Float32Array.from({ length: 2 * Q }, (_, i) => (i < Q ? 1 - i / Q : (i - Q) / Q)), [2, Q]));
  }

  /** q [n, A, nd] → [n, h, w, 1]. */
  apply(q: Tensor): Tensor {
    const { height: h, width: w } = this.g;
    const M = this.intervals, Q = SUBPIXEL;
    return tf.tidy(() => {
      const n = q.shape[0];
      const Y = tf.pad(toPixelMajor(q), [[0, 1], [0, 0]]);
      let ends = tf.reshape(this.endpoints.apply(Y), [M, 2, n]);
      if (n > 1) ends = tf.transpose(ends, [0, 2, 1]);
      let fine = tf.reshape(tf.matMul(tf.reshape(ends, [M * n, 2]), this.levels.get()), [M, n, Q]);
      if (n > 1) fine = tf.transpose(fine, [0, 2, 1]);
      return fromPixelMajor(this.gatherFine.apply(tf.reshape(fine, [M * Q, n])), [h, w, 1]);
    });
  }

  dispose(): void {
    for (const s of [this.endpoints, this.gatherFine, this.levels]) s.dispose();
  }
}

/**
 * The parallel-beam Radon transform (Joseph's ray-driven projector with linear interpolation, sub-pixel
 * positions rounded to 1/SUBPIXEL = 1/8 pixel), its exact adjoint (back-projection) and filtered back-projection.
 * Maps [n, h, w, 1] to sinograms [n, angles, detectors].
 */
export class RadonOperator implements ForwardOperator {
  readonly name = 'radon';
  readonly domainShape: readonly [number, number];
  readonly rangeShape: readonly number[];
  /** AᵀA is singular for every practical geometry (and is never certified otherwise). */
  readonly minEigenvalueAtA = 0;
  private structure: JosephStructure | undefined;
  private backprojector: PixelDrivenBackprojector | undefined;
  private readonly filters = new Map<FbpFilter, Cached<tf.Tensor2D>>();
  private readonly fbpWeights: Cached<tf.Tensor2D>;
  private normSq: number | undefined;

  constructor(readonly geometry: RadonGeometry, readonly filter: FbpFilter = 'ramp') {
    if (geometry.angles.length === 0) throw new Error('radon: at least one angle is needed');
    this.domainShape = [geometry.height, geometry.width];
    this.rangeShape = [geometry.angles.length, geometry.detectors];
    const scale = 1 / (geometry.detectorSpacing * geometry.pixelSize);
    this.fbpWeights = new Cached(() => tf.tensor2d(Float32Array.from(fbpAngleWeights(geometry.angles), (v) => v * scale), [geometry.angles.length, 1]));
  }

  private get joseph(): JosephStructure {
    this.structure ??= new JosephStructure(this.geometry);
    return this.structure;
  }

  /** Number of stored (fine value, ray) entries of the projector. */
  get entries(): number {
    return this.joseph.entries;
  }

  apply(x: ImageBatch): Tensor {
    const J = this.joseph;
    return linearWithTranspose((t) => J.apply(t), (t) => J.adjoint(t), x);
  }

  adjoint(y: Tensor): ImageBatch {
    const J = this.joseph;
    return linearWithTranspose((t) => J.adjoint(t), (t) => J.apply(t), y) as ImageBatch;
  }

  /** A and Aᵀ on one image in float64 on the CPU (the projector's entries; see JosephStructure.hostMap). */
  hostMap(): HostLinearMap {
    return this.joseph.hostMap();
  }

  /** Power iteration on AᵀA (float64, on the projector's CPU entries; cached) × 1.01. */
  normSquared(): number {
    this.normSq ??= NORM_SAFETY_FACTOR * powerIteration(this.hostMap());
    return this.normSq;
  }

  /**
   * Filtered back-projection f(p) ≈ Σ_θ w_θ (y_θ ∗ h)(s_p) / (Δs δ): h the band-limited ramp (Ram–Lak) kernel,
   * optionally windowed, applied along the detectors as a Toeplitz matrix; w_θ the angular quadrature
   * weights; s_p the detector coordinate of pixel p (pixel-driven back-projection with linear interpolation);
   * Δs the detector spacing and δ the pixel size. The classical baseline and initializer.
   */
  fbp(y: Tensor, filter: FbpFilter = this.filter): ImageBatch {
    const [A, nd] = this.rangeShape;
    let F = this.filters.get(filter);
    if (!F) {
      F = new Cached(() => tf.tensor2d(filterMatrix(nd, filter), [nd, nd]));
      this.filters.set(filter, F);
    }
    const Fm = F.get();
    this.backprojector ??= new PixelDrivenBackprojector(this.geometry);
    const B = this.backprojector;
    return tf.tidy(() => {
      const n = y.shape[0];
      const filtered = tf.reshape(tf.matMul(tf.reshape(y, [n * A, nd]), Fm), [n, A, nd]);
      return B.apply(tf.mul(filtered, this.fbpWeights.get())) as ImageBatch;
    });
  }

  /** FBP with the configured filter. */
  naiveReconstruction(y: Tensor): ImageBatch {
    return this.fbp(y);
  }

  /** Frees the projector's index structures and filters. */
  dispose(): void {
    this.structure?.dispose();
    this.structure = undefined;
    this.backprojector?.dispose();
    this.backprojector = undefined;
    for (const f of this.filters.values()) f.dispose();
    this.filters.clear();
    this.fbpWeights.dispose();
  }
}
