import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { tf } from '@bilevel/core';
import { DistributedOracle, parseEngineUrl, redisAvailable, startRedisServer, useEngine, type LocalRedis } from '@bilevel/distributed';
import { buildExperiment, runExperiment, useWorkers } from '@bilevel/experiment';
import { skipped, type BenchRecord } from './harness.js';
import { FOE_SMALL, KODAK, RUNS, timeHypergradient } from './parallel.js';

const CLI = join(process.cwd(), 'packages/cli/dist/main.js');

/** `bilevel worker` processes on the engine, resolved once each says it is serving. */
async function startWorkers(url: string, n: number): Promise<ChildProcess[]> {
  return Promise.all(Array.from({ length: n }, () => new Promise<ChildProcess>((resolve, reject) => {
    const p = spawn(process.execPath, [CLI, 'worker', '--engine', url], { stdio: ['ignore', 'pipe', 'inherit'] });
    p.stdout!.on('data', (d: Buffer) => d.toString().includes('serving queue') && resolve(p));
    p.once('exit', (code) => reject(new Error(`bilevel worker exited with ${code}`)));
  })));
}

async function stopWorkers(ps: ChildProcess[]): Promise<void> {
  await Promise.all(ps.map((p) => new Promise<void>((r) => {
    p.removeAllListeners('exit');
    p.once('exit', () => r());
    p.kill('SIGTERM');
  })));
}

/** FoE-small hypergradient on the engine with `workers` worker processes (2 shards), as timeHypergradient times it. */
async function engineHypergradient(url: string, workers: number, theta0: Float64Array) {
  const ps = await startWorkers(url, workers);
  const e = await buildExperiment(FOE_SMALL);
  useEngine(e, { engine: parseEngineUrl(url), shards: 2 });
  try {
    return await timeHypergradient(theta0, () => e.oracle(), RUNS);
  } finally {
    await e.dispose();
    await stopWorkers(ps);
  }
}

/**
 * Outer iterations of a config on the engine (2 worker processes, 4 shards): the engine's time against the jobs'
 * compute, beside the same iterations with the in-process oracle.
 */
async function overhead(name: string, url: string, config: object, iterations: number): Promise<BenchRecord> {
  const reference = await buildExperiment({ ...config, budget: { maxIterations: iterations } });
  const r0 = performance.now();
  await runExperiment(reference, {});
  const inProcessSeconds = (performance.now() - r0) / 1000;
  await reference.dispose();
  const ps = await startWorkers(url, 2);
  const e = await buildExperiment({ ...config, budget: { maxIterations: iterations } });
  let oracle: DistributedOracle | undefined;
  useEngine(e, { engine: parseEngineUrl(url), shards: 4, onReady: (info) => (oracle = info.oracle) });
  const t0 = performance.now();
  const r = await runExperiment(e, { onIteration: () => {} }).finally(() => stopWorkers(ps));
  const wall = (performance.now() - t0) / 1000;
  const s = oracle!.engineStats;
  await e.dispose();
  return {
    name, backend: tf.getBackend(), medianMs: +((1000 * s.wallSeconds) / r.iterations).toFixed(1), runs: r.iterations,
    oracleCalls: s.calls, waitSeconds: +s.wallSeconds.toFixed(2), computeSeconds: +s.computeSeconds.toFixed(2), jobSeconds: +s.jobSeconds.toFixed(2),
    arraysFraction: +((s.jobSeconds - s.computeSeconds) / s.computeSeconds).toFixed(3), dispatchFraction: +((s.wallSeconds - s.jobSeconds) / s.computeSeconds).toFixed(3),
    overheadFraction: +((s.wallSeconds - s.computeSeconds) / s.computeSeconds).toFixed(3), overheadMsPerIteration: +((1000 * (s.wallSeconds - s.computeSeconds)) / r.iterations).toFixed(1),
    runSeconds: +wall.toFixed(1), inProcessSeconds: +inProcessSeconds.toFixed(1), workers: 2, shards: 4,
  };
}

/**
 * The engine (Redis + BullMQ, `bilevel worker` processes on this machine): FoE-small hypergradient with 1 and 2
 * worker processes beside the worker-threads sharded oracle (same 2 shards); the engine's overhead per outer iteration
 * as a fraction of the jobs' compute on TV Kodak96 and FoE-small.
 */
export async function benchEngine(): Promise<BenchRecord[]> {
  if (!existsSync(KODAK)) return [skipped('engine.foe-small.hypergrad', `${KODAK} not found`)];
  if (!(await redisAvailable())) return [skipped('engine.foe-small.hypergrad', 'redis-server is not installed (apt-get install redis-server)')];
  if (!existsSync(CLI)) return [skipped('engine.foe-small.hypergrad', `${CLI} missing: build first`)];
  const redis: LocalRedis = await startRedisServer({ password: 'bench' });
  try {
    const spec = await (await buildExperiment(FOE_SMALL)).spec();
    const threads = async (workers: number) => {
      const e = await buildExperiment(FOE_SMALL);
      useWorkers(e, { workers, shards: 2, backend: tf.getBackend() });
      return timeHypergradient(spec.theta0, () => e.oracle(), RUNS).finally(() => e.dispose());
    };
    const [t1, t2] = [await threads(1), await threads(2)];
    const one = await engineHypergradient(redis.url, 1, spec.theta0);
    const two = await engineHypergradient(redis.url, 2, spec.theta0);
    const same = one.grad.every((g, i) => g === two.grad[i]) && one.grad.every((g, i) => g === t1.grad[i]);
    const backend = tf.getBackend();
    return [
      { name: 'engine.foe-small.hypergrad.1', backend, medianMs: +one.ms.toFixed(1), runs: RUNS, workers: 1, shards: 2, threadsBaselineMs: +t1.ms.toFixed(1) },
      {
        name: 'engine.foe-small.hypergrad.2', backend, medianMs: +two.ms.toFixed(1), runs: RUNS, workers: 2, shards: 2, speedup: +(one.ms / two.ms).toFixed(2),
        threadsBaselineMs: +t2.ms.toFixed(1), threadsSpeedup: +(t1.ms / t2.ms).toFixed(2), gradIdentical: same,
      },
      await overhead('engine.overhead.tv-kodak96', redis.url, {
        seed: 0, data: { train: { source: 'folder', path: KODAK }, noise: { sigma: 0.1 } }, regularizer: { name: 'tv', theta0: [-5, -5] },
        // The former Euclidean 0.1 on 24 images of 96×96, per element (the figures in docs/data/bench-results.json).
        optimizer: { name: 'maid', options: { epsilon0: 2.13e-4, delta0: 5.1e-3, step0: 0.01 } },
      }, 20),
      await overhead('engine.overhead.foe-small', redis.url, FOE_SMALL, 5),
    ];
  } finally {
    await redis.stop();
  }
}
