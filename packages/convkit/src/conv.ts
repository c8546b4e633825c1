import { isMainThread } from 'node:worker_threads';
import { tf, type ImageBatch, type Tensor } from '@bilevel/core';
import { PatchGeometry } from './patches.js';

/**
 * ∂/∂f ⟨conv2d(x, f, 'valid'), dy⟩ for x [n, h, w, cin], dy [n, h−s+1, w−s+1, cout]: the filter gradient
 * f̄[i, j, ci, co] = Σ_{b,p,q} x[b, p+i, q+j, ci] dy[b, p, q, co], computed as one forward conv2d with batch and
 * channels swapped (the wasm backend has no Conv2DBackpropFilter kernel).
 */
export function conv2dFilterGrad(x: Tensor, dy: Tensor, s: number): tf.Tensor4D {
  return tf.tidy(() => {
    const xs = tf.transpose(x, [3, 1, 2, 0]) as tf.Tensor4D; // [cin, h, w, n]
    const ds = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D; // [ho, wo, n, cout]
    const g = tf.conv2d(xs, ds, 1, 'valid'); // [cin, s, s, cout]
    if (g.shape[1] !== s || g.shape[2] !== s) throw new Error(`filter gradient has shape ${g.shape}, expected ${s}×${s}`);
    return tf.transpose(g, [1, 2, 0, 3]) as tf.Tensor4D;
  });
}

/** Cᵀ dy for C = conv2d(·, f, 'valid'): the exact adjoint (conv2dTranspose), into shape `inShape`. */
export function conv2dAdjoint(dy: Tensor, f: tf.Tensor4D, inShape: readonly number[]): tf.Tensor4D {
  return tf.conv2dTranspose(dy as tf.Tensor4D, f, inShape as [number, number, number, number], 1, 'valid');
}

/** What a filter bank needs of the convolution layout. */
export type ConvEngineName = 'patches' | 'native';

/**
 * 'patches' on the CPU-like backends (wasm, cpu) in the main thread; 'native' conv2d elsewhere (tensorflow,
 * webgpu) and in worker threads. Measured (tools/bench, FoE-small hypergradient, wasm, 2 cores): the patch matrix
 * is faster on one thread but memory-bound, so two workers on it contend (1.6× over one worker); conv2d scales
 * 1.87× and is the faster of the two with two workers.
 */
/** The `engine` option as every filter-bank plugin documents it (the choice `defaultEngine` makes for 'auto'). */
export const ENGINE_OPTION_DOC = "convolution layout: 'auto' (default: patches on wasm/cpu in the main thread, conv2d in worker threads and on GPU backends), 'patches' (im2col, fast on wasm/cpu) or 'native' (conv2d)";

export function defaultEngine(): ConvEngineName {
  const b = tf.getBackend();
  return (b === 'wasm' || b === 'cpu') && isMainThread ? 'patches' : 'native';
}

/** An image batch prepared for a filter bank (the padded batch, or the batch itself). */
export interface Prepared {
  readonly input: Tensor;
  /** The batch the windows see (the extended image for mirror boundaries). */
  readonly x: ImageBatch;
  readonly shape: readonly number[];
  /** Shape of the original batch when it was extended. */
  readonly imageShape?: readonly number[];
}

/**
 * K filters of s×s taps on a one-channel batch, 'valid' windows, filters given as rows F [K, s²]
 * (tap (i, j) ↦ i·s + j, correlation: (c ∗ x)[p, q] = Σ c[i, j] x[p+i, q+j]). Responses are matrices
 * [rows, K], one row per window position: all valid windows for 'native'; a padded grid for 'patches',
 * where `mask` zeroes the positions that are not valid windows. Every method takes the Prepared batch
 * the responses came from.
 */
export interface FilterBank {
  readonly s: number;
  readonly engine: ConvEngineName;
  prepare(x: ImageBatch): Prepared;
  /** Responses U = C x of every filter, [rows, K]. */
  respond(p: Prepared, F: Tensor): tf.Tensor2D;
  /** Zeroes U [rows, K] off the valid windows. */
  mask(U: Tensor, p: Prepared): tf.Tensor2D;
  /** The valid-window mask as a [rows, 1] 0/1 column, or undefined when every row is a valid window. */
  maskColumn(p: Prepared): tf.Tensor2D | undefined;
  /** Cᵀ G = Σ_k c_kᵀ G_k as [n, h, w, 1] (G [rows, K] must vanish off the valid windows). */
  adjoint(G: Tensor, F: Tensor, p: Prepared): ImageBatch;
  /** Σ_l C_lᵀ G_l for several (G_l, F_l) pairs of the same size s, at the cost of about one adjoint. */
  adjointSum(pairs: readonly [Tensor, Tensor][], p: Prepared): ImageBatch;
  /** Per-filter sums of U over the valid windows, [K]. */
  maskedSums(U: Tensor, p: Prepared): tf.Tensor1D;
  /** Per-filter sums of an already masked U, [K]. */
  sums(U: Tensor): tf.Tensor1D;
  /** ∂/∂F ⟨G, C x⟩ as [K, s²], for G vanishing off the valid windows. */
  filterGrad(G: Tensor, p: Prepared): tf.Tensor2D;
}

class PatchBank implements FilterBank {
  readonly engine = 'patches' as const;
  constructor(readonly s: number) {}
  private geometry(p: Prepared): PatchGeometry {
    return PatchGeometry.for(p.shape, this.s);
  }
  prepare(x: ImageBatch): Prepared {
    return { input: PatchGeometry.for(x.shape, this.s).padded(x), x, shape: x.shape };
  }
  respond(p: Prepared, F: Tensor): tf.Tensor2D {
    return this.geometry(p).responses(p.input as tf.Tensor4D, F);
  }
  mask(U: Tensor, p: Prepared): tf.Tensor2D {
    return tf.mul(U, this.geometry(p).mask(U.shape[1] as number)) as tf.Tensor2D;
  }
  maskColumn(p: Prepared): tf.Tensor2D {
    return this.geometry(p).maskCol;
  }
  adjoint(G: Tensor, F: Tensor, p: Prepared): ImageBatch {
    return this.geometry(p).adjointSum(tf.matMul(G as tf.Tensor2D, F as tf.Tensor2D));
  }
  adjointSum(pairs: readonly [Tensor, Tensor][], p: Prepared): ImageBatch {
    return this.geometry(p).adjointSum(tf.addN(pairs.map(([G, F]) => tf.matMul(G as tf.Tensor2D, F as tf.Tensor2D))));
  }
  maskedSums(U: Tensor, p: Prepared): tf.Tensor1D {
    return tf.reshape(tf.matMul(this.geometry(p).maskRow, U as tf.Tensor2D), [-1]);
  }
  sums(U: Tensor): tf.Tensor1D {
    return tf.sum(U, 0) as tf.Tensor1D;
  }
  filterGrad(G: Tensor, p: Prepared): tf.Tensor2D {
    return tf.transpose(tf.matMul(this.geometry(p).patches(p.x), G as tf.Tensor2D)) as tf.Tensor2D;
  }
}

class NativeBank implements FilterBank {
  readonly engine = 'native' as const;
  constructor(readonly s: number) {}
  private kernel(F: Tensor): tf.Tensor4D {
    return tf.reshape(tf.transpose(F), [this.s, this.s, 1, F.shape[0]]) as tf.Tensor4D;
  }
  private outShape(p: Prepared, K: number): [number, number, number, number] {
    const [n, h, w] = p.shape;
    return [n, h - this.s + 1, w - this.s + 1, K];
  }
  prepare(x: ImageBatch): Prepared {
    return { input: x, x, shape: x.shape };
  }
  respond(p: Prepared, F: Tensor): tf.Tensor2D {
    return tf.reshape(tf.conv2d(p.input as tf.Tensor4D, this.kernel(F), 1, 'valid'), [-1, F.shape[0]]);
  }
  mask(U: Tensor): tf.Tensor2D {
    return U as tf.Tensor2D;
  }
  maskColumn(): undefined {
    return undefined;
  }
  adjoint(G: Tensor, F: Tensor, p: Prepared): ImageBatch {
    return conv2dAdjoint(tf.reshape(G, this.outShape(p, F.shape[0])), this.kernel(F), p.shape) as ImageBatch;
  }
  adjointSum(pairs: readonly [Tensor, Tensor][], p: Prepared): ImageBatch {
    return this.adjoint(tf.concat(pairs.map(([G]) => G), 1), tf.concat(pairs.map(([, F]) => F), 0), p);
  }
  maskedSums(U: Tensor): tf.Tensor1D {
    return tf.sum(U, 0) as tf.Tensor1D;
  }
  sums(U: Tensor): tf.Tensor1D {
    return tf.sum(U, 0) as tf.Tensor1D;
  }
  filterGrad(G: Tensor, p: Prepared): tf.Tensor2D {
    const K = G.shape[1] as number;
    const g = conv2dFilterGrad(p.input, tf.reshape(G, this.outShape(p, K)), this.s);
    return tf.transpose(tf.reshape(g, [this.s * this.s, K])) as tf.Tensor2D;
  }
}

/**
 * How windows meet the image border: 'valid' (only windows inside the image), or 'reflect' / 'symmetric'
 * (the image is mirror-extended by ⌊(s−1)/2⌋ before and ⌈(s−1)/2⌉ after each axis, so there is one window per
 * pixel, as in the MAID reference's conv2d(padding_mode="reflect"); 'reflect' mirrors about the edge pixel,
 * 'symmetric' repeats it). The extension E is linear with ‖E‖² ≤ 4 (every pixel appears at most twice per axis).
 */
export type Boundary = 'valid' | 'reflect' | 'symmetric';

/** Widths (before, after) of the mirror extension for s×s windows. */
export function extension(s: number): [number, number] {
  const a = Math.floor((s - 1) / 2);
  return [a, s - 1 - a];
}

/** Eᵀ for the mirror extension along `axis` (1: rows, 2: columns) of g [n, h + a + b, w] or [n, h, w + a + b]. */
function foldAxis(g: Tensor, axis: 1 | 2, a: number, b: number, mode: 'reflect' | 'symmetric'): Tensor {
  const size = g.shape[axis] as number, n = size - a - b;
  const take = (start: number, len: number) => {
    const begin = [0, 0, 0], shape = [...g.shape];
    begin[axis] = start;
    shape[axis] = len;
    return tf.slice(g, begin, shape);
  };
  const pad = (t: Tensor, before: number, after: number) => {
    const p: [number, number][] = [[0, 0], [0, 0], [0, 0]];
    p[axis] = [before, after];
    return tf.pad(t, p);
  };
  let out = take(a, n);
  const shift = mode === 'reflect' ? 1 : 0;
  if (a > 0) out = tf.add(out, pad(tf.reverse(take(0, a), axis), shift, n - a - shift));
  if (b > 0) out = tf.add(out, pad(tf.reverse(take(a + n, b), axis), n - b - shift, shift));
  return out;
}

/** Eᵀ g for g [n, h + a + b, w + a + b, 1] → [n, h, w, 1] (worked on as [n, ·, ·]: wasm slices copy innermost rows). */
function fold(g: Tensor, a: number, b: number, mode: 'reflect' | 'symmetric'): ImageBatch {
  const [n, he, we] = g.shape as number[];
  const f = foldAxis(foldAxis(tf.reshape(g, [n, he, we]), 1, a, b, mode), 2, a, b, mode);
  return tf.reshape(f, [n, he - a - b, we - a - b, 1]) as ImageBatch;
}

/** Wraps a bank so that it sees the mirror-extended image (one window per pixel) and folds its adjoint back. */
function extended(bank: FilterBank, mode: 'reflect' | 'symmetric'): FilterBank {
  const [a, b] = extension(bank.s);
  return {
    s: bank.s,
    get engine() {
      return bank.engine;
    },
    prepare: (x) => {
      if (Math.min(x.shape[1], x.shape[2]) <= Math.max(a, b)) throw new Error(`images of ${x.shape[1]}×${x.shape[2]} are too small for a ${mode} extension of ${Math.max(a, b)} pixels`);
      const xe = tf.mirrorPad(x, [[0, 0], [a, b], [a, b], [0, 0]], mode) as ImageBatch;
      const p = bank.prepare(xe);
      return { ...p, imageShape: x.shape };
    },
    respond: (p, F) => bank.respond(p, F),
    mask: (U, p) => bank.mask(U, p),
    maskColumn: (p) => bank.maskColumn(p),
    adjoint: (G, F, p) => fold(bank.adjoint(G, F, p), a, b, mode),
    adjointSum: (pairs, p) => fold(bank.adjointSum(pairs, p), a, b, mode),
    maskedSums: (U, p) => bank.maskedSums(U, p),
    sums: (U) => bank.sums(U),
    filterGrad: (G, p) => bank.filterGrad(G, p),
  };
}

/** A bank of s×s filters on the given engine ('auto': chosen by the active backend at each `prepare`) and boundary. */
export function filterBank(s: number, engine: ConvEngineName | 'auto' = 'auto', boundary: Boundary = 'valid'): FilterBank {
  const bank = innerBank(s, engine);
  return boundary === 'valid' ? bank : extended(bank, boundary);
}

function innerBank(s: number, engine: ConvEngineName | 'auto'): FilterBank {
  if (engine === 'patches') return new PatchBank(s);
  if (engine === 'native') return new NativeBank(s);
  const patch = new PatchBank(s), native = new NativeBank(s);
  const of = (p: Prepared): FilterBank => (p.input === p.x ? native : patch);
  return {
    s,
    get engine() {
      return defaultEngine();
    },
    prepare: (x) => (defaultEngine() === 'patches' ? patch : native).prepare(x),
    respond: (p, F) => of(p).respond(p, F),
    mask: (U, p) => of(p).mask(U, p),
    maskColumn: (p) => of(p).maskColumn(p),
    adjoint: (G, F, p) => of(p).adjoint(G, F, p),
    adjointSum: (pairs, p) => of(p).adjointSum(pairs, p),
    maskedSums: (U, p) => of(p).maskedSums(U, p),
    sums: (U) => tf.sum(U, 0) as tf.Tensor1D,
    filterGrad: (G, p) => of(p).filterGrad(G, p),
  };
}
