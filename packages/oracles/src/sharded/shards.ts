import type { BatchCostScaling, HypergradientOptions, HypergradientResult, LowerEvaluation, LowerStop, ShardState, ValueEstimate } from '@bilevel/core';

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

/** Per-shard result fields a worker returns for an evaluation. */
export interface ShardEvaluation {
  value: number;
  upperGradNormSq: number;
  iterations: number;
  gradNormSq: number;
  certifiedSq: number;
  stop: LowerStop;
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
  valueEstimate?: ValueEstimate;
}

/** A shard oracle's evaluation as the numbers the reduction needs. */
export function shardEvaluationOf(ev: LowerEvaluation): ShardEvaluation {
  return {
    value: ev.value, upperGradNormSq: ev.upperGradNorm ** 2, iterations: ev.lower.iterations,
    gradNormSq: ev.lower.gradNorm ** 2, certifiedSq: ev.lower.certifiedError ** 2, stop: ev.lower.stop,
  };
}

/** A shard oracle's hypergradient as the numbers the reduction needs. */
export function shardHypergradientOf(hg: HypergradientResult): ShardHypergradient {
  const s = hg.stats;
  return {
    grad: Array.from(hg.grad), qNormSq: s.qNorm ** 2, jacobianNorm: s.jacobianNorm, lipschitzJ: s.lipschitzJ,
    lipschitzHessian: s.lipschitzHessianInverse * s.mu * s.mu, cgIterations: s.cgIterations, cgResidualSq: s.cgResidual ** 2, probeWork: s.probeWork,
    valueEstimate: hg.valueEstimate,
  };
}

/** One shard's saved state with its images (a worker's answer to 'save', its input to 'restore'). */
export interface ShardSnapshot {
  state: ShardState;
  x: Float32Array;
  q: Float32Array | null;
}

/**
 * A request to a worker: `on` names the oracle set (0: the shards' own oracles; otherwise an open subset's), `shards`
 * the worker's local shard positions it concerns; per-shard arrays (eps, delta, local, snapshots) follow that order.
 */
export type WorkerRequest = { on: number; shards: number[] } & (
  | { op: 'evaluate'; id: number; theta: number[]; eps: number[]; from?: number }
  | { op: 'accept'; id: number }
  | { op: 'release'; id: number }
  | { op: 'read'; id?: number }
  | { op: 'hypergradient'; id: number; theta: number[]; eps: number[]; delta: number[]; options: HypergradientOptions }
  | { op: 'floor'; theta: number[] }
  | { op: 'save' }
  | { op: 'dispose' }
  | { op: 'restore'; snapshots: ShardSnapshot[]; acceptedId?: number }
  | { op: 'subset'; sub: number; local: number[][]; count: number }
  | { op: 'merge'; sub: number; keep: boolean; costScaling: BatchCostScaling }
);

/** A worker's answer to the request numbered `rid`. */
export interface WorkerResponse {
  rid: number;
  result?: unknown;
  error?: string;
}

/** The buffers of the Float32Arrays in a message (to transfer rather than copy: the sender must not use them after). */
export function transferables(message: unknown, out: ArrayBuffer[] = []): ArrayBuffer[] {
  if (message instanceof Float32Array) out.push(message.buffer as ArrayBuffer);
  else if (Array.isArray(message)) for (const v of message) transferables(v, out);
  else if (message && typeof message === 'object') for (const v of Object.values(message)) transferables(v, out);
  return out;
}
