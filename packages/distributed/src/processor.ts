// The sandboxed BullMQ processor of `bilevel worker`: it runs in a worker thread, so a CPU-bound solve never blocks
// the main thread's lock renewal (BullMQ would otherwise declare the job stalled and hand it to another worker).
import type { SandboxedJob } from 'bullmq';
import { ConfigError, ConfigErrors, UnknownPluginError, z, type PluginRegistry } from '@bilevel/core';
import { defaultRegistry } from '@bilevel/experiment';
import { openClient, parseEngineUrl } from './engine.js';
import { unrecoverable } from './failures.js';
import { PROCESSOR_ENV } from './processor-env.js';
import { PluginNotInstalledError } from './plugins.js';
import { SHARD_JOB_SCHEMA } from './protocol.js';
import { ShardRunner } from './shard-runner.js';
import { CodeMismatchError } from './version.js';
import { RedisStore } from './store.js';
import { runSweepJob, SWEEP_JOB_SCHEMA } from './sweep-job.js';


interface ThreadContext {
  store: RedisStore;
  registry: PluginRegistry;
  plugins: string[];
  runner: ShardRunner;
  maxBytes: number;
}

let context: Promise<ThreadContext> | undefined;

async function makeContext(): Promise<ThreadContext> {
  const spec = parseEngineUrl(process.env[PROCESSOR_ENV.engine] ?? '', PROCESSOR_ENV.engine);
  const plugins = JSON.parse(process.env[PROCESSOR_ENV.plugins] ?? '[]') as string[];
  const store = new RedisStore(openClient(spec));
  const registry = await defaultRegistry(plugins);
  return { store, registry, plugins, runner: new ShardRunner(store, registry, plugins, process.env[PROCESSOR_ENV.name] ?? 'worker'), maxBytes: Number(process.env[PROCESSOR_ENV.maxBytes] ?? 16 * 2 ** 20) };
}

/** A job that can never succeed: failed at once with the reason. */
function reject(job: SandboxedJob, reason: string): never {
  throw unrecoverable(`job ${job.id} (${job.name}) rejected: ${reason}`);
}

/** Config problems and plugins this worker does not serve fail at once (retrying cannot fix them); others retry. */
async function failFast<T>(job: SandboxedJob, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    if (e instanceof PluginNotInstalledError || e instanceof CodeMismatchError || e instanceof UnknownPluginError || e instanceof ConfigErrors || e instanceof ConfigError) reject(job, (e as Error).message);
    throw e;
  }
}

function parse<S extends z.ZodType>(schema: S, job: SandboxedJob): z.infer<S> {
  const r = schema.safeParse(job.data);
  if (!r.success) reject(job, `malformed payload: ${r.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  return r.data;
}

export default async function processJob(job: SandboxedJob): Promise<unknown> {
  const ctx = await (context ??= makeContext());
  const bytes = Buffer.byteLength(JSON.stringify(job.data ?? null));
  if (bytes > ctx.maxBytes) reject(job, `payload of ${bytes} bytes is over the worker's limit of ${ctx.maxBytes} (--max-job-mb)`);
  switch (job.name) {
    case 'shard': {
      const data = parse(SHARD_JOB_SCHEMA, job);
      return failFast(job, () => ctx.runner.run(data));
    }
    case 'sweep': {
      const data = parse(SWEEP_JOB_SCHEMA, job);
      return failFast(job, () => runSweepJob(data, { store: ctx.store, registry: ctx.registry, plugins: ctx.plugins, progress: (p) => job.updateProgress(p) }));
    }
    default:
      return reject(job, `unknown job name "${job.name}" (a worker serves "shard" and "sweep" jobs)`);
  }
}
