import { Worker } from 'node:worker_threads';
import { BilevelError } from '@bilevel/core';
import type { WorkerRequest, WorkerResponse } from './shards.js';

/** What the main thread gives a worker at start (workerData). */
export interface WorkerInit {
  /** Module specifier or file URL of the factory module (see ShardFactory). */
  factory: string;
  init: unknown;
  backend?: string;
  /** [start, end) image ranges of this worker's shards, their global shard numbers, and n. */
  ranges: [number, number][];
  shardIds: number[];
  size: number;
}

/** A worker failed (its error, with what to check). */
export class WorkerError extends BilevelError {
  constructor(worker: number, message: string) {
    super(`shard worker ${worker}: ${message}`, 'check the factory module and init (the error above is the worker\'s)');
  }
}

/** The compiled worker script (under a test runner this module is loaded from src/, the worker runs from dist/). */
export function workerUrl(): URL {
  const url = new URL('./worker.js', import.meta.url);
  return url.pathname.includes('/src/sharded/') ? new URL(url.href.replace('/src/sharded/', '/dist/sharded/')) : url;
}

/** Resolves when the worker reports that its oracles are built; rejects with its error otherwise. */
function ready(worker: Worker, k: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onMessage = (m: { ready: boolean; error?: string }) => settle(m.ready ? undefined : new WorkerError(k, m.error ?? 'failed to start'));
    const onError = (e: Error) => settle(new WorkerError(k, e.stack ?? String(e)));
    const onExit = (code: number) => settle(new WorkerError(k, `exited with code ${code} before it was ready`));
    const settle = (e?: Error) => {
      worker.off('message', onMessage).off('error', onError).off('exit', onExit);
      if (e) reject(e);
      else resolve();
    };
    worker.on('message', onMessage).on('error', onError).on('exit', onExit);
  });
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
}

/**
 * Worker threads answering requests in order (postMessage; float images travel as transferred buffers). A request
 * whose answer nobody awaits (release) that fails makes the next call fail.
 */
export class WorkerPool {
  private readonly pending: Map<number, Pending>[];
  private rid = 1;
  private deferred: Error | undefined;
  /** Evaluation and subset ids, unique over the pool. */
  private id = 1;

  private constructor(private readonly workers: Worker[]) {
    this.pending = workers.map(() => new Map());
    workers.forEach((w, k) => {
      w.on('message', (m: WorkerResponse) => this.answer(k, m));
      w.on('error', (e) => this.failAll(k, e));
      w.on('exit', (code) => this.failAll(k, new Error(`exited with code ${code}`)));
    });
  }

  /** Starts one worker per init and waits until each has built its shards' oracles. */
  static async start(inits: WorkerInit[]): Promise<WorkerPool> {
    const workers: Worker[] = [];
    try {
      for (const [k, init] of inits.entries()) {
        const worker = new Worker(workerUrl(), { workerData: init });
        workers.push(worker);
        await ready(worker, k);
      }
    } catch (e) {
      for (const w of workers) void w.terminate();
      throw e;
    }
    for (const w of workers) w.unref();
    return new WorkerPool(workers);
  }

  get size(): number {
    return this.workers.length;
  }

  nextId(): number {
    return this.id++;
  }

  /** Sends a request to worker `w` (with buffers to transfer) and resolves with its answer. */
  call<T>(w: number, request: WorkerRequest, transfer: ArrayBuffer[] = []): Promise<T> {
    if (this.deferred) {
      const e = this.deferred;
      this.deferred = undefined;
      return Promise.reject(e);
    }
    const rid = this.rid++;
    return new Promise<T>((resolve, reject) => {
      this.pending[w].set(rid, { resolve: resolve as (v: unknown) => void, reject });
      // Keep the process alive while an answer is due (idle workers do not hold it).
      if (this.pending[w].size === 1) this.workers[w].ref();
      this.workers[w].postMessage({ rid, request }, transfer);
    });
  }

  /** Sends a request whose answer is not awaited; a failure is reported by the next call. */
  post(w: number, request: WorkerRequest): void {
    this.call(w, request).catch((e: Error) => (this.deferred ??= e));
  }

  private answer(w: number, m: WorkerResponse): void {
    const p = this.pending[w].get(m.rid);
    if (!p) return;
    this.pending[w].delete(m.rid);
    if (this.pending[w].size === 0) this.workers[w].unref();
    if (m.error !== undefined) p.reject(new WorkerError(w, m.error));
    else p.resolve(m.result);
  }

  private failAll(w: number, e: Error): void {
    for (const p of this.pending[w].values()) p.reject(new WorkerError(w, e.stack ?? String(e)));
    this.pending[w].clear();
  }

  async terminate(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
