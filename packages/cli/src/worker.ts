import { BilevelError } from '@bilevel/core';
import { engineFrom, startWorker } from '@bilevel/distributed';

export interface WorkerCommandOptions {
  engine?: string;
  concurrency?: number;
  plugins: readonly string[];
  maxJobMb?: number;
  quiet?: boolean;
}

/**
 * `bilevel worker`: serves the engine's queue until SIGINT/SIGTERM (then finishes its jobs and exits 0). A wrong
 * password or an unreachable server exits 1 with one line before anything is served. BILEVEL_LOCK_MS shortens the job
 * lock (default 30 000 ms): how soon another worker takes over the job of a worker that died.
 */
export async function workerCommand(o: WorkerCommandOptions): Promise<void> {
  const spec = engineFrom(o.engine);
  if (!spec) throw new BilevelError('worker needs --engine redis://[:password@]host:port (or BILEVEL_ENGINE)', 'start Redis first: docs/distributed.md');
  if (o.concurrency === 0) throw new BilevelError('--concurrency must be at least 1', 'pass e.g. --concurrency 1 (one job per core at most)');
  const url = o.engine ?? process.env.BILEVEL_ENGINE!;
  const lockMs = process.env.BILEVEL_LOCK_MS ? Number(process.env.BILEVEL_LOCK_MS) : undefined;
  const log = (line: string) => o.quiet || process.stdout.write(`bilevel worker ${process.pid}: ${line}\n`);
  const worker = await startWorker(url, {
    concurrency: o.concurrency, plugins: o.plugins, maxJobBytes: o.maxJobMb !== undefined ? o.maxJobMb * 2 ** 20 : undefined, lockMs, log,
  });
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  log('closing (finishing the jobs in hand)');
  await worker.close();
}
