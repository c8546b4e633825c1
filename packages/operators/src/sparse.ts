import { tf, type Tensor } from '@bilevel/core';

/**
 * Fixed sparse index structures applied with tfjs ops, and the tensor cache the operators keep.
 *
 * Why these primitives: on tfjs-backend-wasm `GatherV2` costs ~60 ns per element, while `GatherNd`
 * (~4 ns) and `SparseSegmentSum` (a fused gather + sorted segment sum, ~3–4 ns) are native and fast.
 * Every operator therefore keeps its data "pixel-major with the batch trailing" ([pixels, n]) so that a
 * gather / segment sum moves whole rows of n values.
 */

/** True when the active backend has a kernel registered under `name`. */
export function hasKernel(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined;
}

/** A tensor created on first use, kept out of every tidy scope, and rebuilt if the backend changes. */
export class Cached<T extends tf.Tensor> {
  private value: T | undefined;
  private backend = '';
  constructor(private readonly build: () => T) {}
  get(): T {
    const be = tf.getBackend();
    if (!this.value || this.value.isDisposed || this.backend !== be) {
      this.value = tf.keep(tf.tidy(this.build));
      this.backend = be;
    }
    return this.value;
  }
  dispose(): void {
    this.value?.dispose();
    this.value = undefined;
  }
}

/** out[i, :] = data[index[i], :]: a row gather (GatherNd, fast on wasm). */
export class RowGather {
  private readonly idx: Cached<tf.Tensor2D>;
  readonly rows: number;
  constructor(index: Int32Array) {
    this.rows = index.length;
    this.idx = new Cached(() => tf.tensor2d(index, [index.length, 1], 'int32'));
  }
  apply(data: Tensor): Tensor {
    return tf.gatherND(data, this.idx.get());
  }
  dispose(): void {
    this.idx.dispose();
  }
}

/**
 * out[s, :] = Σ_{e : segment[e] = s} data[index[e], :] for s < rows, with `segment` sorted
 * (SparseSegmentSum; gather + unsortedSegmentSum where a backend lacks it, and on webgpu). Rows no entry maps to are 0.
 */
export class SegmentSum {
  private readonly idx: Cached<tf.Tensor1D>;
  private readonly seg: Cached<tf.Tensor1D>;
  private readonly produced: number;
  constructor(index: Int32Array, segment: Int32Array, readonly rows: number) {
    if (index.length !== segment.length) throw new Error('SegmentSum: index and segment lengths differ');
    for (let e = 1; e < segment.length; e++) if (segment[e] < segment[e - 1]) throw new Error('SegmentSum: segments must be sorted');
    if (segment.length && segment[segment.length - 1] >= rows) throw new Error('SegmentSum: segment id out of range');
    this.produced = segment.length ? segment[segment.length - 1] + 1 : 0;
    // An empty structure still needs one entry for the kernel: add 0·(row 0) to segment 0 via padding below.
    this.idx = new Cached(() => tf.tensor1d(index, 'int32'));
    this.seg = new Cached(() => tf.tensor1d(segment, 'int32'));
  }
  /** data: [dataRows, ...rest] → [rows, ...rest]. */
  apply(data: Tensor): Tensor {
    return tf.tidy(() => {
      const rest = data.shape.slice(1);
      if (this.produced === 0) return tf.zeros([this.rows, ...rest]);
      // tfjs-backend-webgpu's SparseSegmentSum reads its indices synchronously (fails in Node): gather + segment sum there.
      const out = hasKernel('SparseSegmentSum') && tf.getBackend() !== 'webgpu'
        ? tf.sparse.sparseSegmentSum(data, this.idx.get(), this.seg.get())
        : tf.unsortedSegmentSum(tf.gather(data, this.idx.get()), this.seg.get(), this.produced);
      if (this.produced === this.rows) return out;
      return tf.pad(out, [[0, this.rows - this.produced], ...rest.map(() => [0, 0] as [number, number])]);
    });
  }
  dispose(): void {
    this.idx.dispose();
    this.seg.dispose();
  }
}

/**
 * Counting sort of the entries (index, segment) by `index`: the same entries as a segment sum in the other
 * direction, i.e. the transpose of the sparse 0/1 matrix. Returns { index: old segment, segment: old index }.
 */
export function transposeEntries(index: Int32Array, segment: Int32Array, indexRange: number): { index: Int32Array; segment: Int32Array } {
  const count = new Int32Array(indexRange + 1);
  for (let e = 0; e < index.length; e++) count[index[e] + 1]++;
  for (let i = 0; i < indexRange; i++) count[i + 1] += count[i];
  const outIndex = new Int32Array(index.length), outSegment = new Int32Array(index.length);
  for (let e = 0; e < index.length; e++) {
    const p = count[index[e]]++;
    outIndex[p] = segment[e];
    outSegment[p] = index[e];
  }
  return { index: outIndex, segment: outSegment };
}

/** [n, h, w, 1] (or [n, ...]) → [h·w, n]: pixels first, batch trailing. */
export function toPixelMajor(x: Tensor): tf.Tensor2D {
  const n = x.shape[0];
  const size = x.size / n;
  return (n === 1 ? tf.reshape(x, [size, 1]) : tf.transpose(tf.reshape(x, [n, size]))) as tf.Tensor2D;
}

/** [size, n] → [n, ...shape]. */
export function fromPixelMajor(x: Tensor, shape: readonly number[]): Tensor {
  const n = x.shape[1] as number;
  return n === 1 ? tf.reshape(x, [1, ...shape]) : tf.reshape(tf.transpose(x), [n, ...shape]);
}

/**
 * Runs the linear map `forward` so that tfjs differentiates through it with `backward` (its transpose):
 * gradients of anything built on an operator's apply/adjoint use the exact adjoint.
 */
export function linearWithTranspose(forward: (t: Tensor) => Tensor, backward: (t: Tensor) => Tensor, input: Tensor): Tensor {
  const f = tf.customGrad(((t: Tensor) => ({ value: forward(t), gradFunc: (dy: Tensor) => backward(dy) })) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(input);
}
