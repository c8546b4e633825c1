import { tf } from '@bilevel/core';
import { ShardedOracle } from '@bilevel/oracles';
import { smallTvOracle } from './fixtures.js';

const factory = new URL('./tv-shard-factory.mjs', import.meta.url);

/** A sharded oracle over smallTvOracle(count, size)'s images. */
export async function shardedTv(workers: number, count = 4, size = 12, shards = 2): Promise<ShardedOracle> {
  const local = await smallTvOracle(count, size);
  const problem = local.problem;
  const curvature = (t: Float32Array) => problem.curvature(t);
  const oracle = await ShardedOracle.create({ factory, init: { count, size, seed: 0 }, size: count, imageShape: [size, size], curvature, workers, shards });
  tf.dispose([local.upper.targets, problem.measurement]);
  await local.dispose();
  return oracle;
}
