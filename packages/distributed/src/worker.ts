import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { Worker } from 'bullmq';
import { checkEngine, parseEngineUrl, queueConnection } from './engine.js';
import { PROCESSOR_ENV } from './processor-env.js';
import { QUEUE } from './protocol.js';

export interface WorkerOptions {
  /** Jobs served at once, each in its own worker thread (default 1: one per core is the most a machine gains). */
  concurrency?: number;
  /** Plugin packages this worker serves besides the built-in ones (jobs naming any other are rejected). */
  plugins?: readonly string[];
  /** Largest job payload accepted (bytes; default 16 MiB). */
  maxJobBytes?: number;
  /** How long a job's lock lasts without renewal before another worker takes the job over (ms; default 30 000). */
  lockMs?: number;
  /** The worker's name on the queue (jobs record it as processedBy; default host:pid). */
  name?: string;
  /** One line per event (job done, failed, error). */
  log?: (line: string) => void;
}

/** A running worker. */
export interface EngineWorker {
  close(): Promise<void>;
}

/** The compiled processor (under a test runner this module is loaded from src/, the processor runs from dist/). */
function processorUrl(): URL {
  const url = new URL('./processor.js', import.meta.url);
  const dist = url.pathname.includes('/distributed/src/') ? new URL(url.href.replace('/distributed/src/', '/distributed/dist/')) : url;
  if (!existsSync(dist)) throw new Error(`${dist.pathname} is missing: build first (npx tsc -b)`);
  return dist;
}

/**
 * `bilevel worker`: serves the engine's queue (shard jobs of distributed oracles, sweep jobs), each job in a sandboxed
 * worker thread. A wrong password or an unreachable server throws EngineError before anything is served.
 */
export async function startWorker(engineUrl: string, o: WorkerOptions = {}): Promise<EngineWorker> {
  const spec = parseEngineUrl(engineUrl);
  await checkEngine(spec);
  const log = o.log ?? (() => {});
  const lockDuration = o.lockMs ?? 30_000;
  const name = o.name ?? `${hostname()}:${process.pid}`;
  const worker = new Worker(QUEUE, processorUrl(), {
    name, connection: queueConnection(spec), concurrency: o.concurrency ?? 1, useWorkerThreads: true,
    lockDuration, stalledInterval: lockDuration, maxStalledCount: 5,
    workerThreadsOptions: {
      env: {
        ...process.env, [PROCESSOR_ENV.engine]: engineUrl, [PROCESSOR_ENV.plugins]: JSON.stringify(o.plugins ?? []),
        [PROCESSOR_ENV.maxBytes]: String(o.maxJobBytes ?? 16 * 2 ** 20), [PROCESSOR_ENV.name]: name,
      },
    },
  });
  // Shard jobs are many and short: counted, and summarised at most once a minute; sweep jobs get a line each.
  let served = 0;
  const summary = setInterval(() => {
    if (served) log(`served ${served} shard jobs in the last minute`);
    served = 0;
  }, 60_000).unref();
  worker.on('completed', (job) => (job.name === 'shard' ? served++ : log(`done ${job.name} ${job.id}`)));
  worker.on('failed', (job, err) => log(`failed ${job?.name ?? ''} ${job?.id ?? ''}: ${err.message.split('\n')[0]}`));
  worker.on('error', (err) => log(`error: ${err.message}`));
  await worker.waitUntilReady();
  log(`serving queue "${QUEUE}" at ${spec.display} as ${name} (concurrency ${o.concurrency ?? 1})`);
  return {
    close: async () => {
      clearInterval(summary);
      await worker.close();
    },
  };
}
