import { tf } from './tensor.js';

/** Backends whose reads are plain memory copies: each tensor is read on its own (no extra ops). */
const HOST_BACKENDS = new Set(['cpu', 'wasm']);

/** Device→host round-trips made so far in this thread (one per readTensors call, on every backend). */
let reads = 0;

/**
 * The number of readTensors calls so far in this thread (readScalars and readVector are one each): on a device backend
 * each is one device→host round-trip; it is counted on cpu/wasm too, so tests there can check a solver's read structure.
 * Take differences (before/after) to count the reads of a piece of work.
 */
export function readCount(): number {
  return reads;
}

/**
 * Reads tensors back to the host in one round-trip and disposes them: on a device backend (webgpu, tensorflow) they
 * are flattened into one buffer and read by a single `await data()`; on cpu/wasm each is read directly.
 */
export async function readTensors(...tensors: tf.Tensor[]): Promise<Float32Array[]> {
  if (tensors.length > 0) reads++;
  try {
    if (tensors.length === 1 || HOST_BACKENDS.has(tf.getBackend())) {
      return await Promise.all(tensors.map(async (t) => {
        const v = await t.data();
        return v instanceof Float32Array ? v : Float32Array.from(v);
      }));
    }
    const flat = tf.tidy(() => tf.concat(tensors.map((t) => tf.reshape(t.dtype === 'float32' ? t : tf.cast(t, 'float32'), [-1]))));
    const all = (await flat.data()) as Float32Array;
    flat.dispose();
    const out: Float32Array[] = [];
    let offset = 0;
    for (const t of tensors) {
      out.push(all.slice(offset, offset + t.size));
      offset += t.size;
    }
    return out;
  } finally {
    for (const t of tensors) t.dispose();
  }
}

/** Reads several scalar tensors in one round-trip (see readTensors), then disposes them. */
export async function readScalars(...scalars: tf.Tensor[]): Promise<number[]> {
  return (await readTensors(...scalars)).map((v) => v[0]);
}

/** Reads one tensor's values as float64 numbers and disposes it. */
export async function readVector(t: tf.Tensor): Promise<Float64Array> {
  const [v] = await readTensors(t);
  return Float64Array.from(v);
}
