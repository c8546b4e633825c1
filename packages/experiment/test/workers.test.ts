import { describe, expect, it } from 'vitest';
import { tf } from '@bilevel/core';
import { buildExperiment, runExperiment, useWorkers } from '@bilevel/experiment';
import { OPTIMIZERS, tinyConfig } from './optimizer-configs.js';

/** θ after a run on `workers` worker threads over 2 fixed shards (the workers import dist/shard-factory.js: build first). */
async function learn(optimizer: string, workers: number): Promise<number[]> {
  const e = await buildExperiment(tinyConfig(optimizer, 4));
  useWorkers(e, { workers, shards: 2, backend: tf.getBackend() });
  const r = await runExperiment(e);
  tf.dispose([r.images.train.input, r.images.train.learned]);
  await e.dispose();
  expect(r.iterations, `${optimizer}: ${r.stopReason} ${r.message}`).toBeGreaterThan(0);
  return r.theta;
}

describe('--workers: the sharded oracle (factory module in @bilevel/experiment) gives the 1-worker θ with every optimizer', () => {
  for (const name of Object.keys(OPTIMIZERS)) {
    it(name, async () => {
      const one = await learn(name, 1);
      const two = await learn(name, 2);
      console.log(`${name}: θ with 1 worker ${one}, with 2 workers ${two}`);
      // Fixed shards reduced in shard order: the worker count changes no floating-point operation.
      expect(two).toEqual(one);
    }, 120_000);
  }
});
