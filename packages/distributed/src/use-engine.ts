import { BilevelError, TOKENS, tf } from '@bilevel/core';
import { defaultRegistry, problemFor, type Experiment } from '@bilevel/experiment';
import { DistributedOracle } from './distributed-oracle.js';
import type { EngineSpec } from './engine.js';
import { QueueTransport } from './queue-transport.js';
import { LocalTransport, type ShardTransport } from './transport.js';

/** Default image shards of a distributed run (θ depends on the shard count, never on the worker count). */
export const DEFAULT_SHARDS = 4;

export interface EngineOptions {
  /** The engine, or 'in-process' to run the same shard jobs in this thread (the reference every engine matches). */
  engine: EngineSpec | 'in-process';
  /** Fixed number of image shards (default 4, at most the number of training images). */
  shards?: number;
  /** Called once the oracle is made: where its jobs run and how many workers serve the queue now. */
  onReady?: (info: { where: string; workers?: number; shards: number; oracle: DistributedOracle }) => void;
}

/**
 * Rebinds TOKENS.oracle to the distributed oracle (`bilevel run --engine`): the coordinator uploads each shard's
 * images once and sends one job per shard and oracle call to the engine's workers.
 */
export function useEngine(experiment: Experiment, o: EngineOptions): void {
  if (experiment.config.oracle.name !== 'in-process') {
    throw new BilevelError(`the engine distributes the in-process oracle, not "${experiment.config.oracle.name}"`, 'drop --engine, or use the in-process oracle');
  }
  experiment.container.rebind(TOKENS.oracle).toDynamicValue(async () => {
    const spec = await experiment.spec();
    const problem = problemFor(spec, spec.train);
    const transport: ShardTransport = o.engine === 'in-process'
      ? new LocalTransport(await defaultRegistry(experiment.config.plugins), experiment.config.plugins)
      : await QueueTransport.open(o.engine);
    const shards = Math.min(o.shards ?? DEFAULT_SHARDS, spec.train.clean.shape[0]);
    const oracle = await DistributedOracle.create({
      transport, config: experiment.source.raw, backend: tf.getBackend(), clean: spec.train.clean, measurement: spec.train.measurement, shards,
      curvature: (theta) => problem.curvature(theta),
    });
    o.onReady?.({ where: transport.where, workers: transport instanceof QueueTransport ? await transport.workers() : undefined, shards, oracle });
    return oracle;
  });
}
