import { BilevelError, readTensors, tf, type OracleCounters, type Tensor } from '@bilevel/core';

/** An evaluation handle this oracle does not hold (released, or made by another oracle). */
export class UnknownEvaluationError extends BilevelError {
  constructor(readonly id: number, oracle: string) {
    super(`${oracle}: evaluation #${id} is not held (it was released, or belongs to another oracle)`,
      'release an evaluation only after its last use; after restoreState use oracle.accepted()');
  }
}

/** `merge` was given an oracle that is not an open subset of this one. */
export class UnknownSubsetError extends BilevelError {
  constructor(oracle: string) {
    super(`${oracle}.merge: the oracle is not an open subset of this one`, 'merge each subset once, into the oracle whose subset() made it');
  }
}

/** Image indices of a subset must be distinct integers in [0, n). */
export function checkIndices(indices: readonly number[], n: number, where: string): void {
  if (indices.length === 0) throw new BilevelError(`${where}: empty batch`, 'pass at least one image index');
  const seen = new Set<number>();
  for (const i of indices) {
    if (!Number.isInteger(i) || i < 0 || i >= n) throw new BilevelError(`${where}: index ${i} out of range [0, ${n})`, 'pass 0-based indices of training images');
    if (seen.has(i)) throw new BilevelError(`${where}: index ${i} appears twice`, 'pass each image once');
    seen.add(i);
  }
}

export function zeroCounters(): OracleCounters {
  return { lowerIterations: 0, cgIterations: 0, lowerSeconds: 0, cgSeconds: 0, probeWork: 0 };
}

/** Adds `c` scaled by `scale` to `into` (iterations and probe work scaled, seconds not). */
export function addCounters(into: OracleCounters, c: OracleCounters, scale: number, probes = true): void {
  into.lowerIterations += scale * c.lowerIterations;
  into.cgIterations += scale * c.cgIterations;
  into.lowerSeconds += c.lowerSeconds;
  into.cgSeconds += c.cgSeconds;
  if (probes) into.probeWork += scale * c.probeWork;
}

/** The rows `indices` (first axis) of a tensor, as a new tensor. */
export function gatherRows(t: Tensor, indices: readonly number[]): Tensor {
  return tf.tidy(() => tf.gather(t, tf.tensor1d(Int32Array.from(indices), 'int32')));
}

/** `full` with its rows `indices` (first axis) replaced by the rows of `part`, as a new tensor (exact copies, on the host). */
export async function scatterRows(full: Tensor, part: Tensor, indices: readonly number[]): Promise<Tensor> {
  const row = full.size / full.shape[0];
  // Copies: on the cpu backend a read may return the tensor's own storage.
  const [f, p] = (await readTensors(full.clone(), part.clone())).map((v) => v.slice());
  indices.forEach((i, k) => f.set(p.subarray(k * row, (k + 1) * row), i * row));
  return tf.tensor(f, full.shape);
}
