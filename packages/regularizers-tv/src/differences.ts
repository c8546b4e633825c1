import { tf, type Tensor } from '@bilevel/core';

/**
 * Forward differences with Neumann boundary on a flattened batch x ∈ ℝᴺ (N = n·h·w, row-major):
 *   (D_h x)_k = x_{k+1} − x_k  for k < N − 1, zero where k is the last column of a row;
 *   (D_v x)_k = x_{k+w} − x_k  for k < N − w, zero where k is the last row of an image.
 * Built from 1-D pads (cheap on every backend) and one contiguous slice each; the adjoints
 *   D_hᵀp = pad(p, [1, 0]) − pad(p, [0, 1]),  D_vᵀp = pad(p, [w, 0]) − pad(p, [0, w])
 * need no slice at all.
 */
export class FiniteDifferences {
  private static readonly cache = new Map<string, FiniteDifferences>();
  readonly size: number;
  /** 1 where (D_h x)_k is a real difference, 0 on the last column. */
  readonly maskH: tf.Tensor1D;
  /** 1 where (D_v x)_k is a real difference, 0 on the last row. */
  readonly maskV: tf.Tensor1D;

  private constructor(readonly n: number, readonly height: number, readonly width: number) {
    const N = n * height * width;
    this.size = N;
    const mh = new Float32Array(N - 1);
    for (let k = 0; k < N - 1; k++) mh[k] = k % width === width - 1 ? 0 : 1;
    const mv = new Float32Array(N - width);
    const lastRow = (height - 1) * width;
    for (let k = 0; k < N - width; k++) mv[k] = k % (height * width) < lastRow ? 1 : 0;
    this.maskH = tf.keep(tf.tensor1d(mh));
    this.maskV = tf.keep(tf.tensor1d(mv));
  }

  /** Shared per image-batch shape; the masks are built once. */
  static for(shape: readonly number[]): FiniteDifferences {
    const [n, h, w] = shape;
    const key = `${tf.getBackend()}:${n}x${h}x${w}`;
    let d = FiniteDifferences.cache.get(key);
    if (!d || d.maskH.isDisposed) {
      d = new FiniteDifferences(n, h, w);
      FiniteDifferences.cache.set(key, d);
    }
    return d;
  }

  /** D_h x (length N − 1). */
  horizontal(xFlat: Tensor): tf.Tensor1D {
    const N = this.size;
    const e = tf.sub(tf.pad(xFlat, [[0, 1]]), tf.pad(xFlat, [[1, 0]]));
    return tf.mul(tf.slice(e, 1, N - 1), this.maskH);
  }

  /** D_v x (length N − w). */
  vertical(xFlat: Tensor): tf.Tensor1D {
    const N = this.size, w = this.width;
    const e = tf.sub(tf.pad(xFlat, [[0, w]]), tf.pad(xFlat, [[w, 0]]));
    return tf.mul(tf.slice(e, w, N - w), this.maskV);
  }

  /** D_hᵀ p (length N); p must vanish where maskH does. */
  horizontalAdjoint(p: Tensor): tf.Tensor1D {
    return tf.sub(tf.pad(p, [[1, 0]]), tf.pad(p, [[0, 1]]));
  }

  /** D_vᵀ p (length N); p must vanish where maskV does. */
  verticalAdjoint(p: Tensor): tf.Tensor1D {
    const w = this.width;
    return tf.sub(tf.pad(p, [[w, 0]]), tf.pad(p, [[0, w]]));
  }
}
