/** Contiguous, deterministic shards of n images: sizes differ by at most one, independent of the worker count. */
export function shardRanges(n: number, shards: number): [number, number][] {
  const s = Math.max(1, Math.min(shards, n));
  return Array.from({ length: s }, (_, k) => [Math.floor((k * n) / s), Math.floor(((k + 1) * n) / s)] as [number, number]);
}

/** Shards dealt round-robin to workers. */
export function assignShards(shards: number, workers: number): number[][] {
  const w = Math.max(1, Math.min(workers, shards));
  return Array.from({ length: w }, (_, k) => Array.from({ length: shards }, (_, s) => s).filter((s) => s % w === k));
}

/** Per-shard result fields a worker returns. */
export interface ShardEvaluation {
  value: number;
  upperGradNormSq: number;
  iterations: number;
  gradNormSq: number;
  certifiedSq: number;
  stop: 'certified' | 'iteration-cap' | 'float32-floor';
}

export interface ShardHypergradient {
  grad: number[];
  qNormSq: number;
  jacobianNorm: number;
  lipschitzJ: number;
  lipschitzHessian: number;
  cgIterations: number;
  cgResidualSq: number;
  /** The shard's probe work (HypergradientStats.probeWork). */
  probeWork: number;
  /** The shard's adjoint-corrected value and bound (requested with valueEstimate); they add up over shards. */
  valueEstimate?: { value: number; bound: number };
}
