import { Queue, QueueEvents } from 'bullmq';
import { BilevelError } from '@bilevel/core';
import { checkEngine, openClient, queueConnection, type EngineSpec } from './engine.js';
import { QUEUE, SHARD_PRIORITY, type ShardJobResult } from './protocol.js';
import { RedisStore } from './store.js';
import type { IdentifiedJob, ShardTransport } from './transport.js';

/** A shard job failed on every attempt (its worker's reason). */
export class ShardJobError extends BilevelError {}

/** Attempts of a shard job before the oracle call fails (a worker dying mid-job does not use one: the job stalls and is re-queued). */
const ATTEMPTS = 3;

/** Shard jobs on the engine's BullMQ queue; their arrays in the same Redis. */
export class QueueTransport implements ShardTransport {
  private constructor(
    private readonly queue: Queue,
    private readonly events: QueueEvents,
    readonly store: RedisStore,
    private readonly close_: () => Promise<void>,
    readonly where: string,
  ) {}

  /** Connects (a wrong password or unreachable server throws EngineError before anything is sent). */
  static async open(spec: EngineSpec): Promise<QueueTransport> {
    await checkEngine(spec);
    const connection = queueConnection(spec);
    const queue = new Queue(QUEUE, { connection });
    const events = new QueueEvents(QUEUE, { connection });
    await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
    const redis = openClient(spec);
    const close = async () => {
      await Promise.all([queue.close(), events.close()]);
      redis.disconnect();
    };
    return new QueueTransport(queue, events, new RedisStore(redis), close, spec.display);
  }

  /** Number of workers serving the queue now. */
  async workers(): Promise<number> {
    return (await this.queue.getWorkers()).length;
  }

  async run(jobs: readonly IdentifiedJob[]): Promise<ShardJobResult[]> {
    const added = await this.queue.addBulk(jobs.map(({ id, job }) => ({
      name: 'shard', data: job,
      opts: { jobId: id, priority: SHARD_PRIORITY, attempts: ATTEMPTS, backoff: { type: 'exponential', delay: 500 }, removeOnComplete: { age: 3600 }, removeOnFail: { age: 86400 } },
    })));
    return Promise.all(added.map(async (j) => {
      try {
        return (await j.waitUntilFinished(this.events)) as ShardJobResult;
      } catch (e) {
        throw new ShardJobError(`shard job ${j.id} failed on the engine at ${this.where}: ${(e as Error).message}`, 'the reason above is the worker\'s; fix it and resume the run (bilevel resume)');
      }
    }));
  }

  close(): Promise<void> {
    return this.close_();
  }
}
