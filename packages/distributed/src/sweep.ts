// Runs a sweep's jobs: on the engine's workers (BullMQ, one job each), or one after another in this process.
import { Queue, QueueEvents, type Job } from 'bullmq';
import { BilevelError } from '@bilevel/core';
import { defaultRegistry } from '@bilevel/experiment';
import { checkEngine, openClient, queueConnection, type EngineSpec } from './engine.js';
import { QUEUE, SWEEP_PRIORITY } from './protocol.js';
import { MemoryStore, RedisStore, type ArrayStore } from './store.js';
import { checkpointSlot, sweepKeys } from './sweep-checkpoint.js';
import { runSweepJob, storedResult, type SweepJob, type SweepProgress, type SweepResult } from './sweep-job.js';

/** What happens to a sweep's jobs, as it happens. */
export type SweepEvent =
  | { type: 'ready'; where: string; workers?: number }
  | { type: 'skipped'; job: SweepJob; result: SweepResult }
  | ({ type: 'progress'; job: SweepJob } & SweepProgress)
  | { type: 'done'; job: SweepJob; result: SweepResult }
  | { type: 'failed'; job: SweepJob; error: string };

export interface SweepOptions {
  /** The engine whose workers run the jobs; absent: every job runs here, one after another. */
  engine?: EngineSpec;
  onEvent?: (e: SweepEvent) => void;
  /** Results at hand already (e.g. an earlier sweep's output folder): their jobs are skipped. */
  known?: readonly SweepResult[];
  /** Forget stored results and checkpoints of these jobs and run them all again. */
  force?: boolean;
}

/** A sweep's outcome: the finished jobs' results in job order, the failed jobs with their reasons. */
export interface SweepOutcome {
  results: SweepResult[];
  failed: { job: SweepJob; error: string }[];
  skipped: number;
}

/** Attempts of a sweep job that throws (a worker dying does not use one: its job stalls and another worker takes it). */
const ATTEMPTS = 3;
const BACKOFF_MS = 5000;

/** BullMQ's id of a sweep job (custom ids may be neither integers nor contain ":"). */
export const queueJobId = (job: SweepJob) => `sweep-${job.id}`;

type Settled = { result: SweepResult; skipped: boolean } | { error: string };

function outcomeOf(jobs: readonly SweepJob[], settled: Settled[]): SweepOutcome {
  const out: SweepOutcome = { results: [], failed: [], skipped: 0 };
  settled.forEach((s, i) => {
    if ('error' in s) out.failed.push({ job: jobs[i], error: s.error });
    else {
      out.results.push(s.result);
      if (s.skipped) out.skipped++;
    }
  });
  return out;
}

/** A job finished before: reported, not run. */
function skip(job: SweepJob, result: SweepResult, o: SweepOptions): Settled {
  o.onEvent?.({ type: 'skipped', job, result });
  return { result, skipped: true };
}

const pluginsOf = (job: SweepJob) => (Array.isArray(job.config.plugins) ? job.config.plugins.filter((p): p is string => typeof p === 'string') : []);

/** Every job in this process, in order (a MemoryStore holds checkpoints, unless the jobs name a checkpointDir). */
async function runHere(jobs: readonly SweepJob[], known: ReadonlyMap<string, SweepResult>, o: SweepOptions): Promise<Settled[]> {
  const emit = o.onEvent ?? (() => {});
  const plugins = [...new Set(jobs.flatMap(pluginsOf))];
  const registry = await defaultRegistry(plugins);
  const store = new MemoryStore();
  emit({ type: 'ready', where: 'this process' });
  const settled: Settled[] = [];
  for (const job of jobs) {
    const had = o.force ? undefined : known.get(job.id);
    if (had) {
      settled.push(skip(job, had, o));
      continue;
    }
    if (o.force) await checkpointSlot(job, store).clear();
    try {
      const result = await runSweepJob(job, { store, registry, plugins, progress: async (p) => emit({ type: 'progress', job, ...p }) });
      emit({ type: 'done', job, result });
      settled.push({ result, skipped: false });
    } catch (e) {
      const error = (e as Error).message;
      emit({ type: 'failed', job, error });
      settled.push({ error });
    }
  }
  return settled;
}

/** What submitting a job to the engine needs. */
interface Submission {
  queue: Queue;
  events: QueueEvents;
  store: ArrayStore;
  known: ReadonlyMap<string, SweepResult>;
  o: SweepOptions;
}

/** Removes a job's BullMQ job, result and checkpoint (--force); a job running now cannot be removed. */
async function forget(s: Submission, job: SweepJob): Promise<void> {
  const existing = await s.queue.getJob(queueJobId(job));
  try {
    await existing?.remove();
  } catch (e) {
    throw new BilevelError(`sweep job ${job.label} seed ${job.seed} (${job.id}) is running on a worker now, so it cannot be restarted (${(e as Error).message})`,
      'wait until it finishes, or resubmit without --force');
  }
  await s.store.delete([sweepKeys(job.id).result]);
  await checkpointSlot(job, s.store).clear();
}

/** Queues one job (or finds it queued, finished or failed: a failed one is retried) and waits for its result. */
async function submit(s: Submission, job: SweepJob): Promise<Settled> {
  const { queue, o } = s;
  try {
    if (o.force) await forget(s, job);
    else {
      const had = s.known.get(job.id) ?? (await storedResult(s.store, job.id));
      if (had) return skip(job, had, o);
    }
    let queued: Job | undefined = await queue.getJob(queueJobId(job));
    if (queued && (await queued.isFailed())) await queued.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
    queued ??= await queue.add('sweep', job, {
      jobId: queueJobId(job), priority: SWEEP_PRIORITY, attempts: ATTEMPTS, backoff: { type: 'exponential', delay: BACKOFF_MS },
      removeOnComplete: { age: 86400 }, removeOnFail: { age: 7 * 86400 },
    });
    const result = (await queued.waitUntilFinished(s.events)) as SweepResult;
    o.onEvent?.({ type: 'done', job, result });
    return { result, skipped: false };
  } catch (e) {
    const error = (e as Error).message;
    o.onEvent?.({ type: 'failed', job, error });
    return { error };
  }
}

/** Every job on the engine's workers at once (BullMQ orders them by priority, then by when they were added). */
async function runOnEngine(jobs: readonly SweepJob[], known: ReadonlyMap<string, SweepResult>, spec: EngineSpec, o: SweepOptions): Promise<Settled[]> {
  await checkEngine(spec);
  const connection = queueConnection(spec);
  const queue = new Queue(QUEUE, { connection });
  const events = new QueueEvents(QUEUE, { connection });
  const redis = openClient(spec);
  const byQueueId = new Map(jobs.map((j) => [queueJobId(j), j]));
  const onProgress = ({ jobId, data }: { jobId: string; data: unknown }) => {
    const job = byQueueId.get(jobId);
    if (job && typeof data === 'object' && data !== null && 'iteration' in data) o.onEvent?.({ type: 'progress', job, ...(data as SweepProgress) });
  };
  events.on('progress', onProgress);
  try {
    await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
    o.onEvent?.({ type: 'ready', where: spec.display, workers: (await queue.getWorkers()).length });
    const s: Submission = { queue, events, store: new RedisStore(redis), known, o };
    return await Promise.all(jobs.map((job) => submit(s, job)));
  } finally {
    events.off('progress', onProgress);
    await Promise.all([queue.close(), events.close()]);
    redis.disconnect();
  }
}

/**
 * Runs a sweep's jobs and gathers their results in job order. With an engine, each job goes to the queue under its
 * id (so a job queued twice runs once), with retries and exponential backoff; a job whose result is stored already
 * (or among `known`) is skipped. Without one, the jobs run here one after another, through the same runSweepJob.
 */
export async function runSweep(jobs: readonly SweepJob[], o: SweepOptions = {}): Promise<SweepOutcome> {
  const ids = new Set(jobs.map((j) => j.id));
  if (ids.size !== jobs.length) throw new BilevelError('the sweep lists the same job twice', 'give every job its own config or seed');
  const known = new Map((o.known ?? []).map((r) => [r.id, r]));
  const settled = o.engine ? await runOnEngine(jobs, known, o.engine, o) : await runHere(jobs, known, o);
  return outcomeOf(jobs, settled);
}
