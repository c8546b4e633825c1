import {
  LowerLevelProblem, tf,
  type DataFidelity, type ForwardOperator, type ImageBatch, type LinearSolver, type LowerSolver, type Oracle, type Regularizer, type Tensor,
} from '@bilevel/core';
import { HypergradientOracle } from '../in-process.js';

/** What a worker's factory is given: the serialisable `init` of ShardedOracle.create and the worker's shards. */
export interface ShardContext<I = unknown> {
  readonly init: I;
  /** [start, end) image ranges of this worker's shards (into the n training images), in shard order. */
  readonly ranges: readonly [number, number][];
  /** Their global shard numbers. */
  readonly shardIds: readonly number[];
  /** n, the number of training images: each shard's g is normalised by it. */
  readonly size: number;
}

/** A shard's oracle: its subsets can be normalised by the whole batch (a sharded batch is split over shards). */
export interface ShardOracle extends Oracle {
  subset(indices: readonly number[], o?: { count?: number }): Promise<Oracle>;
}

/**
 * What a factory module exports, as `createShardOracles` (or its default export): builds one oracle per range of
 * `ctx.ranges`, inside the worker (after the tensor backend is set).
 */
export type ShardFactory<I = unknown> = (ctx: ShardContext<I>) => Promise<ShardOracle[]>;

/** The pieces of a lower-level problem over all n training images, as a factory has built them. */
export interface ShardProblem {
  operator: ForwardOperator;
  fidelity: DataFidelity;
  regularizer: Regularizer;
  gamma: number;
  /** y, [n, ...]. */
  measurement: Tensor;
  /** x*, [n, h, w, 1]. */
  clean: ImageBatch;
  lowerSolver: LowerSolver;
  linearSolver: LinearSolver;
  seed: number;
}

/**
 * One in-process oracle per shard [a, b): the images' targets and measurements sliced out, warm-started from the
 * operator's naive reconstruction, g normalised by n, and probe seed `seed·7919 + shard number`.
 */
export function buildShardOracles(p: ShardProblem, ctx: ShardContext): HypergradientOracle[] {
  const [, h, w] = p.clean.shape;
  return ctx.ranges.map(([a, b], k) => {
    const targets = tf.slice(p.clean, [a, 0, 0, 0], [b - a, h, w, 1]) as ImageBatch;
    const measurement = tf.slice(p.measurement, a, b - a);
    const problem = new LowerLevelProblem(p.operator, p.fidelity, p.regularizer, measurement, p.gamma);
    const x0 = p.operator.naiveReconstruction(measurement);
    const oracle = new HypergradientOracle(problem, targets, p.lowerSolver, p.linearSolver, x0, p.seed * 7919 + ctx.shardIds[k], ctx.size);
    x0.dispose();
    return oracle;
  });
}
