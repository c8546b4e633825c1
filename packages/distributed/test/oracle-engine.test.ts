import { Queue } from 'bullmq';
import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '@bilevel/core';
import { parseEngineUrl, queueConnection, QUEUE, useEngine, type EngineOptions } from '@bilevel/distributed';
import { buildExperiment, DEFAULT_CONFIG, runExperiment, useWorkers } from '@bilevel/experiment';
import { tinyConfig } from '../../experiment/test/optimizer-configs.js';
import { redisOrSkip, spawnWorker, startRedisServer, waitFor, type LocalRedis, type WorkerProcess } from './engine-fixture.js';

// The distributed oracle against its in-process reference: the same shard jobs run in this thread. θ must be
// bit-identical whatever the number of workers, whichever worker ran which shard, and when a worker dies mid-call.

const skip = await redisOrSkip();
const PASSWORD = 'test-secret';

/** The embedded TV experiment on 32×32 images. */
const tv = (iterations: number) => ({
  ...structuredClone(DEFAULT_CONFIG),
  data: { ...DEFAULT_CONFIG.data, train: { ...DEFAULT_CONFIG.data.train, size: [32, 32] }, test: undefined },
  budget: { maxIterations: iterations },
});

/**
 * FoE-small's regularizer and MAID options (examples/foe-denoising-small.json) on generated 32×32 images. The engine
 * is fixed: 'auto' picks im2col patches in the main thread and conv2d in worker threads, which round differently.
 */
const foe = (iterations: number) => ({
  ...tv(iterations),
  name: 'foe-small-synthetic',
  regularizer: { name: 'foe', options: { filters: 8, size: 5, zeroMean: 1, init: 'derivatives', initScale: 0, initWeight: -3.5, initSmoothing: -4, filterScale: 0.3, engine: 'native' } },
  gamma: 0,
  optimizer: { name: 'maid', options: { epsilon0: 0.05, delta0: 0.05, step0: 0.01, metric: 'lbfgs' } },
});

async function learn(config: object, engine: EngineOptions['engine'] | 'threads', after?: (iteration: number) => void): Promise<number[]> {
  const e = await buildExperiment(config);
  if (engine === 'threads') useWorkers(e, { workers: 2, shards: 4, backend: 'wasm' });
  else useEngine(e, { engine, shards: 4 });
  const r = await runExperiment(e, after ? { onIteration: (record) => after(record.iter) } : {});
  await e.dispose();
  return r.theta;
}

describe.skipIf(skip)('distributed oracle on Redis + BullMQ: 2 worker processes', () => {
  let redis: LocalRedis;
  let workers: WorkerProcess[] = [];
  beforeAll(async () => {
    await useBackend('wasm');
    redis = await startRedisServer({ password: PASSWORD });
    workers = [await spawnWorker(redis.url), await spawnWorker(redis.url)];
  });
  afterAll(async () => {
    for (const w of workers) await w.stop();
    await redis?.stop();
  });

  it('TV, 20 iterations: θ identical to the in-process shard jobs and to worker threads', async () => {
    const reference = await learn(tv(20), 'in-process');
    const engine = await learn(tv(20), parseEngineUrl(redis.url));
    expect(engine).toEqual(reference);
    expect(await learn(tv(20), 'threads')).toEqual(reference);
  });

  it('FoE-small, 5 iterations: θ identical to the in-process shard jobs', async () => {
    const reference = await learn(foe(5), 'in-process');
    expect(await learn(foe(5), parseEngineUrl(redis.url))).toEqual(reference);
  });

  it('minibatch optimizers (ISGD, stochastic MAID: subsets split by the shards): θ identical to the in-process shard jobs and to worker threads', async () => {
    for (const name of ['isgd', 'stochastic-maid']) {
      const config = { ...tinyConfig(name, 6), regularizer: { name: 'tv', theta0: [-4, -4.5] } };
      const reference = await learn(config, 'in-process');
      expect(await learn(config, parseEngineUrl(redis.url)), name).toEqual(reference);
      expect(await learn(config, 'threads'), name).toEqual(reference);
    }
  });

  it('kill -9 of a worker in the middle of an oracle call: the run completes with the same θ', async () => {
    const reference = await learn(foe(5), 'in-process');
    const queue = new Queue(QUEUE, { connection: queueConnection(parseEngineUrl(redis.url)) });
    let killing: Promise<number> | undefined;
    // After iteration 2, without blocking the run: as soon as the first worker has a shard job in hand, kill it.
    const victim = `${hostname()}:${workers[0].child.pid}`;
    const killWhenActive = async () => {
      let held = 0;
      for (let i = 0; i < 5000 && held === 0; i++) held = (await queue.getActive()).filter((j) => j.processedBy === victim).length;
      await workers[0].kill9();
      return held;
    };
    const theta = await learn(foe(5), parseEngineUrl(redis.url), (iteration) => {
      if (iteration === 2) killing ??= killWhenActive();
    });
    await queue.close();
    expect(await killing).toBeGreaterThan(0);
    expect(theta).toEqual(reference);
    workers[0] = await spawnWorker(redis.url);
  });
});
