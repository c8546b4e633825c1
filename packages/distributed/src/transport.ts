import type { PluginRegistry } from '@bilevel/core';
import type { ShardJob, ShardJobResult } from './protocol.js';
import { ShardRunner } from './shard-runner.js';
import { MemoryStore, type ArrayStore } from './store.js';

/** A shard job with the id that makes it idempotent (the same id is never run for other inputs). */
export interface IdentifiedJob {
  readonly id: string;
  readonly job: ShardJob;
}

/** How a distributed oracle's shard jobs reach workers, and where their arrays live. */
export interface ShardTransport {
  readonly store: ArrayStore;
  /** Where the jobs run, for messages (an engine URL without its password, or "in-process"). */
  readonly where: string;
  /** Runs the jobs (in any order, on any worker) and returns their results in the jobs' order. */
  run(jobs: readonly IdentifiedJob[]): Promise<ShardJobResult[]>;
  close(): Promise<void>;
}

/** The shard jobs run one after another in this thread, their arrays in memory: the reference every engine must match. */
export class LocalTransport implements ShardTransport {
  readonly store = new MemoryStore();
  readonly where = 'in-process';
  private readonly runner: ShardRunner;

  constructor(registry: PluginRegistry, plugins: readonly string[] = []) {
    this.runner = new ShardRunner(this.store, registry, plugins);
  }

  async run(jobs: readonly IdentifiedJob[]): Promise<ShardJobResult[]> {
    const out: ShardJobResult[] = [];
    for (const { job } of jobs) out.push(await this.runner.run(job));
    return out;
  }

  async close(): Promise<void> {
    await this.runner.dispose();
  }
}
