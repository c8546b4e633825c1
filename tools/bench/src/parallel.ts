import { Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { tf, type Oracle } from '@bilevel/core';
import { buildExperiment, trainingOracle, useWorkers, type Experiment } from '@bilevel/experiment';
import { skipped, type BenchRecord } from './harness.js';

export const KODAK = join(process.env.BILEVEL_DATA_MIRROR ?? join(process.cwd(), '../shared/data'), 'Kodak24-96'); // a local mirror (docs/datasets.md)
/** FoE-small: 8 Kodak96 images, σ = 0.1, 8 filters 5×5 (examples/foe-denoising-small.json). */
export const FOE_SMALL = {
  seed: 0,
  data: { train: { source: 'folder', path: KODAK, count: 8 }, noise: { sigma: 0.1 } },
  regularizer: { name: 'foe', options: { filters: 8, size: 5 } },
  optimizer: 'maid',
};

/**
 * Median ms of one hypergradient (lower solve from the noisy images to ε, CG to δ, mixed product). One oracle is built
 * and warmed up by two calls (JIT, worker start-up); before each timed call its initial state is restored, so every
 * run repeats the same cold-start solve.
 */
export async function timeHypergradient(theta0: Float64Array, make: () => Promise<Oracle>, runs: number): Promise<{ ms: number; grad: number[] }> {
  const times: number[] = [];
  let grad: number[] = [];
  const oracle = await make();
  const initial = await oracle.saveState();
  for (let k = 0; k < runs + 2; k++) {
    await oracle.restoreState(initial);
    const t0 = performance.now();
    const hg = await oracle.hypergradient(theta0, 1e-2, 1e-2);
    if (k >= 2) times.push(performance.now() - t0);
    grad = Array.from(hg.grad);
    oracle.release(hg.evaluation);
  }
  await oracle.dispose();
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(runs / 2)], grad };
}

/** Timed hypergradients per oracle (after two warm-up calls). */
export const RUNS = 5;

/** FoE-small hypergradient in-process, and with the sharded oracle on 1 and 2 workers (2 shards). */
export async function benchFoeSmallHypergradient(): Promise<BenchRecord[]> {
  if (!existsSync(KODAK)) return [skipped('hypergrad.foe-small', `${KODAK} not found`)];
  const experiment = await buildExperiment(FOE_SMALL);
  const spec = await experiment.spec();
  const inProcess = await timeHypergradient(spec.theta0, async () => trainingOracle(spec), RUNS);
  const sharded = async (workers: number) => {
    const e: Experiment = await buildExperiment(FOE_SMALL);
    useWorkers(e, { workers, shards: 2, backend: tf.getBackend() });
    const r = await timeHypergradient(spec.theta0, () => e.oracle(), RUNS);
    await e.dispose();
    return r;
  };
  const one = await sharded(1);
  const two = await sharded(2);
  const rel = Math.hypot(...one.grad.map((g, i) => g - two.grad[i])) / Math.hypot(...one.grad);
  await experiment.dispose();
  const backend = tf.getBackend();
  return [
    { name: 'hypergrad.foe-small', backend, medianMs: +inProcess.ms.toFixed(1), runs: RUNS },
    { name: 'workers.foe-small.hypergrad.1', backend, medianMs: +one.ms.toFixed(1), runs: RUNS, workers: 1, shards: 2 },
    { name: 'workers.foe-small.hypergrad.2', backend, medianMs: +two.ms.toFixed(1), runs: RUNS, workers: 2, shards: 2, speedup: +(one.ms / two.ms).toFixed(2), gradRelativeDifference: rel },
  ];
}

/** Mean ms per FoE-small ∇ₓR in each of `threads` independent worker threads running at the same time. */
async function independentThreads(threads: number, reps: number): Promise<number[]> {
  const url = new URL('./ceiling-worker.js', import.meta.url);
  return Promise.all(Array.from({ length: threads }, () => new Promise<number>((resolve, reject) => {
    const w = new Worker(url, { workerData: { backend: tf.getBackend(), reps } });
    w.once('message', (ms: number) => { resolve(ms); void w.terminate(); });
    w.once('error', reject);
  })));
}

/**
 * The machine's parallel headroom for this workload: the same FoE-small ∇ₓR loop in 1 and in 2 independent threads
 * (no communication, no shared work; the engine a worker thread picks). Throughput ratio = 2·t₁/t₂: what two
 * workers can at best expect from this kernel, up to run-to-run noise.
 */
export async function benchParallelCeiling(): Promise<BenchRecord[]> {
  const [one] = await independentThreads(1, 150);
  const two = await independentThreads(2, 150);
  const t2 = Math.max(...two);
  return [{
    name: 'workers.ceiling.foe-small-gradX', backend: tf.getBackend(), medianMs: +t2.toFixed(2), runs: 150,
    oneThreadMs: +one.toFixed(2), twoThreadsMs: two.map((t) => +t.toFixed(2)), throughputRatio: +((2 * one) / t2).toFixed(2),
  }];
}
