import { cpus } from 'node:os';
import { tf } from '@bilevel/core';

const ASYNC_BACKENDS = new Set(['webgpu', 'webgl']);

/** One benchmark figure (bench-results.json is an array of these). */
export interface BenchRecord {
  name: string;
  backend: string;
  medianMs: number;
  runs: number;
  minMs?: number;
  maxMs?: number;
  machine?: { cores: number; cpu?: string; device: string };
  skipped?: string;
  [extra: string]: unknown;
}

export function machine() {
  return { cores: cpus().length, cpu: cpus()[0]?.model, device: tf.getBackend() === 'webgpu' || tf.getBackend() === 'tensorflow' ? 'gpu' : 'cpu' };
}

/**
 * Median wall time of `fn` over `runs` calls after `warmup` calls; `fn` returns tensors, which are completed
 * inside the timing (read back on asynchronous GPU backends) and disposed after it; `fn` may be async (oracles, solvers).
 */
type Measured = tf.Tensor | tf.Tensor[] | void;

export async function measure(name: string, fn: () => Measured | Promise<Measured>, o: { runs?: number; warmup?: number; extra?: Record<string, unknown> } = {}): Promise<BenchRecord> {
  const runs = o.runs ?? 15, warmup = o.warmup ?? 3;
  const once = async () => {
    const t0 = performance.now();
    const r = await fn();
    const list = r === undefined ? [] : Array.isArray(r) ? r : [r];
    // wasm/cpu/tensorflow kernels run synchronously; only GPU queues need a read-back to finish.
    if (ASYNC_BACKENDS.has(tf.getBackend())) await Promise.all(list.map((t) => t.data()));
    const ms = performance.now() - t0;
    tf.dispose(list);
    return ms;
  };
  for (let k = 0; k < warmup; k++) await once();
  const times: number[] = [];
  for (let k = 0; k < runs; k++) times.push(await once());
  times.sort((a, b) => a - b);
  return { name, backend: tf.getBackend(), medianMs: +times[Math.floor(runs / 2)].toFixed(3), runs, minMs: +times[0].toFixed(3), maxMs: +times[runs - 1].toFixed(3), machine: machine(), ...o.extra };
}

/**
 * Median CPU time (user + system, ms) of `fn` in this process: unlike wall time it hardly changes when other
 * processes share the cores, so it is reported next to the wall-time median.
 */
export function cpuMedianMs(fn: () => tf.Tensor, runs: number): number {
  tf.dispose(fn());
  const times: number[] = [];
  for (let k = 0; k < runs; k++) {
    const c0 = process.cpuUsage();
    tf.dispose(fn());
    const c = process.cpuUsage(c0);
    times.push((c.user + c.system) / 1000);
  }
  times.sort((a, b) => a - b);
  return +times[Math.floor(runs / 2)].toFixed(3);
}

export function skipped(name: string, reason: string): BenchRecord {
  return { name, backend: tf.getBackend(), medianMs: NaN, runs: 0, skipped: reason };
}
