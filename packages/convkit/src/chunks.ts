import { tf, type ImageBatch, type Tensor } from '@bilevel/core';

/**
 * Largest number of images per chunk so that the biggest intermediate of a filter bank of s×s windows with
 * `channels` responses stays below `budget` floats (wasm has a few GB of heap; the batch sums are exact by chunks).
 */
export function imagesPerChunk(shape: readonly number[], s: number, channels: number, budget = 2 ** 23): number {
  const [, h, w] = shape;
  const perImage = (h + 2 * s + 1) * (w + 2 * s) * Math.max(channels, s * s);
  return Math.max(1, Math.floor(budget / perImage));
}

/**
 * Runs `f` on consecutive chunks of at most `per` images of x (and of the same images of v) and combines the
 * results: 'concat' along the batch axis (∇ₓR, ∇²R v), or 'sum' (R, mixed products). Each chunk runs in its own
 * tf.tidy, so only the chunk results stay alive.
 */
export function byChunks<T extends Tensor>(
  x: ImageBatch, v: ImageBatch | undefined, per: number, combine: 'concat' | 'sum',
  f: (x: ImageBatch, v: ImageBatch | undefined) => T,
): T {
  const n = x.shape[0];
  if (per >= n) return f(x, v);
  const parts: Tensor[] = [];
  for (let start = 0; start < n; start += per) {
    const count = Math.min(per, n - start);
    parts.push(tf.tidy(() => {
      const take = (t: ImageBatch) => tf.slice(t, [start, 0, 0, 0], [count, t.shape[1], t.shape[2], t.shape[3]]) as ImageBatch;
      return f(take(x), v ? take(v) : undefined);
    }));
  }
  const out = combine === 'concat' ? tf.concat(parts, 0) : tf.addN(parts);
  tf.dispose(parts);
  return out as T;
}
