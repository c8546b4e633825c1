import { BilevelError, TOKENS, tf } from '@bilevel/core';
import { ShardedOracle } from '@bilevel/oracles';
import { problemFor } from './oracles.js';
import { shardFactoryUrl, type ShardInit } from './shard-factory.js';
import type { Experiment } from './spec.js';

export interface WorkerOptions {
  workers: number;
  /** Fixed number of image shards (default: CPU cores); θ depends on it, not on the worker count. */
  shards?: number;
  /** Tensor backend of the workers (default: the one active when the oracle is made, e.g. after useBackend('webgpu')). */
  backend?: string;
}

/**
 * Rebinds TOKENS.oracle to the sharded oracle over `workers` worker threads (`bilevel run --workers`): each worker
 * imports the factory module (shard-factory.ts), rebuilds the experiment from its raw config and solves its shards.
 */
export function useWorkers(experiment: Experiment, o: WorkerOptions): void {
  if (experiment.config.oracle.name !== 'in-process') {
    throw new BilevelError(`worker threads shard the in-process oracle, not "${experiment.config.oracle.name}"`, 'drop --workers, or use the in-process oracle');
  }
  const init: ShardInit = { config: experiment.source.raw, baseDir: experiment.source.baseDir };
  experiment.container.rebind(TOKENS.oracle).toDynamicValue(async () => {
    const spec = await experiment.spec();
    const [n, h, w] = spec.train.clean.shape;
    const problem = problemFor(spec, spec.train);
    return ShardedOracle.create<ShardInit>({
      factory: shardFactoryUrl(), init, size: n, imageShape: [h, w], curvature: (theta) => problem.curvature(theta),
      workers: o.workers, shards: o.shards, backend: o.backend ?? tf.getBackend(),
    });
  });
}
