import { tf, type ImageBatch, type Tensor } from '@bilevel/core';
import { fusedPatchAdjoint } from './fused.js';

/**
 * Position-major geometry for s×s 'valid' filters on a one-channel batch [n, h, w, 1], fast on the wasm and
 * cpu backends (where conv2dTranspose and matrix products with a large right-hand operand are slow paths).
 *
 * Windows live on a grid of n images × (h + 2) rows × w columns, flat index m = b·(h+2)·w + p·w + q for the
 * window with top-left pixel (p, q) of image b; M = n(h+2)w rows. Windows with p > h − s or q > w − s are not
 * valid (they read zero padding) and `mask` zeroes them; the two extra rows per image give the tail of zeros
 * that the shift-sums below need.
 *   responses(x, F) = conv2d of x zero-padded to (h+s+1)×(w+s−1) with the filters, as [M, K]   (XNNPACK)
 *   patches(x)[(i, j), m] = x_grid[m + i·w + j]                                                 [s², M]
 *   adjointSum(T)[m]  = Σ_{i,j} T[m − i·w − j, (i, j)]   for T [M, s²] vanishing off valid windows
 * patches/adjointSum use the skew trick: a row-major [R, L] array read with row length L ± d shifts row r by ∓r·d.
 */
export class PatchGeometry {
  private static readonly cache = new Map<string, PatchGeometry>();
  /** Rows of the window grid per image. */
  readonly hg: number;
  /** Number of grid positions (rows of every response matrix). */
  readonly M: number;
  /** [M, 1] valid-window mask. */
  readonly maskCol: tf.Tensor2D;
  /** [1, M] valid-window mask. */
  readonly maskRow: tf.Tensor2D;
  private readonly full = new Map<number, tf.Tensor2D>();
  readonly validCount: number;

  private constructor(readonly n: number, readonly h: number, readonly w: number, readonly s: number) {
    this.hg = h + 2;
    this.M = n * this.hg * w;
    const m = new Float32Array(this.M);
    let count = 0;
    for (let b = 0; b < n; b++) for (let p = 0; p <= h - s; p++) for (let q = 0; q <= w - s; q++) {
      m[b * this.hg * w + p * w + q] = 1;
      count++;
    }
    this.validCount = count;
    this.maskCol = tf.keep(tf.tensor2d(m, [this.M, 1]));
    this.maskRow = tf.keep(tf.tensor2d(m, [1, this.M]));
  }

  /** Shared per (backend, batch shape, s); the masks are built once. */
  static for(shape: readonly number[], s: number): PatchGeometry {
    const [n, h, w] = shape;
    if (h < s || w < s) throw new Error(`images of ${h}×${w} are smaller than the ${s}×${s} filters`);
    const key = `${tf.getBackend()}:${n}x${h}x${w}:${s}`;
    let g = PatchGeometry.cache.get(key);
    if (!g || g.maskCol.isDisposed) {
      g = new PatchGeometry(n, h, w, s);
      PatchGeometry.cache.set(key, g);
    }
    return g;
  }

  /** The mask as [M, K] (cached: a same-shape product is faster than a broadcast one). */
  mask(K: number): tf.Tensor2D {
    let t = this.full.get(K);
    if (!t || t.isDisposed) {
      t = tf.keep(tf.tidy(() => tf.mul(this.maskCol, tf.ones([1, K]))) as tf.Tensor2D);
      this.full.set(K, t);
    }
    return t;
  }

  /** x zero-padded to [n, h + s + 1, w + s − 1, 1]: its 'valid' windows are the grid. */
  padded(x: ImageBatch): tf.Tensor4D {
    const s = this.s;
    return tf.pad(x, [[0, 0], [0, s + 1], [0, s - 1], [0, 0]]);
  }

  /** The filters F [K, s²] (rows, tap (i, j) ↦ i·s + j) on the grid: [M, K]. */
  responses(xPadded: tf.Tensor4D, F: Tensor): tf.Tensor2D {
    const s = this.s, K = F.shape[0];
    const kernel = tf.reshape(tf.transpose(F), [s, s, 1, K]) as tf.Tensor4D;
    return tf.reshape(tf.conv2d(xPadded, kernel, 1, 'valid'), [this.M, K]);
  }

  /** [s², M] patch matrix of x [n, h, w, 1] on the grid (channel-major). */
  patches(x: ImageBatch): tf.Tensor2D {
    const { s, w, M, h, hg } = this;
    const LB = M - 1, LA = LB - w;
    return tf.tidy(() => {
      const grid = tf.reshape(tf.pad(x, [[0, 0], [0, hg - h], [0, 0], [0, 0]]), [1, M]);
      const xf = tf.slice(grid, [0, 0], [1, LA]);
      // Row i = x shifted left by i·w: s + 1 copies read with row length LA + w.
      const a = tf.reshape(tf.slice(tf.reshape(tf.concat(new Array(s + 1).fill(xf), 0), [1, (s + 1) * LA]), [0, 0], [1, s * (LA + w)]), [s, 1, LB]);
      // Row (i, j) = row i shifted left by j: s + 1 copies per i read with row length LB + 1 = M.
      const b = tf.reshape(tf.concat(new Array(s + 1).fill(a), 1), [s, (s + 1) * LB]);
      return tf.reshape(tf.slice(b, [0, 0], [s, s * M]), [s * s, M]);
    });
  }

  /** Σ_{i,j} T[m − i·w − j, (i, j)] as [n, h, w, 1], for T [M, s²] vanishing off the valid windows. */
  adjointSum(T: Tensor): ImageBatch {
    const { s, w, M, n, h, hg } = this;
    const fused = fusedPatchAdjoint<ImageBatch>(T, n, h, w, s);
    if (fused) return fused;
    return tf.tidy(() => {
      const Tc = tf.transpose(T); // [s², M]
      // Shift row (i, j) right by j (read with row length M − 1), then sum over j.
      const y = tf.reshape(tf.slice(tf.reshape(Tc, [s, s * M]), [0, 0], [s, s * (M - 1)]), [s, s, M - 1]);
      const a = tf.sum(y, 1);
      // Shift row i right by i·w (read with row length M − 1 − w), then sum over i.
      const L2 = M - 1;
      const z = tf.reshape(tf.slice(tf.reshape(a, [s * L2]), 0, s * (L2 - w)), [s, L2 - w]);
      const out = tf.pad(tf.reshape(tf.matMul(tf.ones([1, s]), z), [L2 - w]), [[0, w + 1]]);
      // Slice as [n, hg, w] (wasm copies the innermost dimension row by row: a trailing 1 would mean one copy per pixel).
      return tf.reshape(tf.slice(tf.reshape(out, [n, hg, w]), [0, 0, 0], [n, h, w]), [n, h, w, 1]) as ImageBatch;
    });
  }
}
