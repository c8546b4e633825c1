// The factory module of `--workers`: each worker thread of ShardedOracle imports it and rebuilds the experiment from the
// raw config, then builds one in-process oracle per shard of its training images (as cli/src/parallel/worker.ts did).
import { tf } from '@bilevel/core';
import { buildShardOracles, type ShardContext, type ShardOracle } from '@bilevel/oracles';
import { buildExperiment } from './build.js';

/** The `init` of ShardedOracle.create for this factory: what rebuilds the same experiment in a worker. */
export interface ShardInit {
  /** The raw config (as read from JSON, seed override applied). */
  readonly config: unknown;
  /** The folder its relative data paths resolve from. */
  readonly baseDir: string;
}

/** The URL to pass as `factory` (the compiled module: under a test runner this file is loaded from src/). */
export function shardFactoryUrl(): string {
  const url = new URL('./shard-factory.js', import.meta.url);
  return url.pathname.includes('/experiment/src/') ? url.href.replace('/experiment/src/', '/experiment/dist/') : url.href;
}

/** One in-process oracle per range of `ctx.ranges` (targets and measurements sliced, g normalised by n). */
export async function createShardOracles(ctx: ShardContext<ShardInit>): Promise<ShardOracle[]> {
  const experiment = await buildExperiment(ctx.init.config, { baseDir: ctx.init.baseDir });
  const spec = await experiment.spec();
  const oracles = buildShardOracles({ ...spec, measurement: spec.train.measurement, clean: spec.train.clean }, ctx);
  // The shard oracles hold their own slices: the full splits are not needed in the worker.
  tf.dispose([spec.train.clean, spec.train.measurement, ...(spec.test ? [spec.test.clean, spec.test.measurement] : [])]);
  return oracles;
}

export default createShardOracles;
