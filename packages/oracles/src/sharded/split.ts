import type { BatchCostScaling, OracleCounters } from '@bilevel/core';
import { addCounters } from '../common.js';

/**
 * A batch of image indices split by the parts (shards) that hold the images: per part, the images' indices within the
 * part (`local`) and their positions in the batch (`positions`), in batch order.
 */
export function splitBatch(parts: readonly { positions: readonly number[] }[], indices: readonly number[]): { local: number[][]; positions: number[][] } {
  const where = new Map<number, [number, number]>();
  parts.forEach((p, s) => p.positions.forEach((i, k) => where.set(i, [s, k])));
  const local = parts.map(() => [] as number[]);
  const positions = parts.map(() => [] as number[]);
  indices.forEach((i, b) => {
    const [s, k] = where.get(i)!;
    local[s].push(k);
    positions[s].push(b);
  });
  return { local, positions };
}

/** An oracle's work totals: counters, and the unscaled iterations of merged subsets. */
export interface WorkTotals {
  readonly counters: OracleCounters;
  readonly rawCounters: { lowerIterations: number; cgIterations: number };
}

/** Adds a merged subset's work: raw iterations unscaled, counters scaled by |B|/n ('per-image') or not (probes only if kept). */
export function addSubsetWork(into: WorkTotals, sub: WorkTotals & { readonly size: number }, size: number, o: { keep: boolean; costScaling: BatchCostScaling }): void {
  const scale = o.costScaling === 'per-image' ? sub.size / size : 1;
  into.rawCounters.lowerIterations += sub.counters.lowerIterations;
  into.rawCounters.cgIterations += sub.counters.cgIterations;
  addCounters(into.counters, sub.counters, scale, o.keep);
}
