// One job of a sweep: one experiment config with its seed, run to the end on one worker (or in this process), resumed
// from its own checkpoint when a worker that ran it before died.
import { BilevelError, tf, useBackend, z, type IterationRecord, type ParameterLayout, type PluginRegistry } from '@bilevel/core';
import { buildExperiment, decodeCheckpoint, encodeCheckpoint, runExperiment, type Experiment, type ExperimentResult } from '@bilevel/experiment';
import { checkpointSlot, sweepKeys, type SavedProgress } from './sweep-checkpoint.js';
import { unrecoverable } from './failures.js';
import { checkPlugins } from './plugins.js';
import { MissingKeyError, type ArrayStore } from './store.js';

/**
 * A sweep job. `baseDir` is where the config's relative data paths resolve ON THE WORKER: data must be at the same path
 * on every worker (a shared folder, or the same checkout everywhere); synthetic data needs none.
 */
export const SWEEP_JOB_SCHEMA = z.strictObject({
  /** sha256 of (config with seed, seed, baseDir, keepThetas, code version), 16 hex digits (sweep-spec.ts sweepJob). */
  id: z.string().regex(/^[0-9a-f]{16}$/),
  /** What the job is called in progress, tables and plots (a sweep file's labels also name folders: SWEEP_LABEL). */
  label: z.string().min(1).max(200),
  seed: z.number().int(),
  /** The raw experiment config, its `seed` set to `seed`. */
  config: z.record(z.string(), z.unknown()),
  baseDir: z.string().min(1),
  /** Checkpoint every this many outer iterations (0 = never: a dead worker's job then restarts from θ₀). */
  checkpointEvery: z.number().int().nonnegative(),
  /** A folder every worker can read and write, for the checkpoints (default: the engine's Redis). */
  checkpointDir: z.string().min(1).optional(),
  /** Keep θ of every iteration in the result (tools/compare re-evaluates them). */
  keepThetas: z.boolean().optional(),
});
export type SweepJob = z.infer<typeof SWEEP_JOB_SCHEMA>;

/** What a running job reports after each outer iteration (BullMQ job progress). */
export interface SweepProgress {
  iteration: number;
  maxIterations: number;
  record: IterationRecord;
}

export interface SweepJobContext {
  /** Results and (without checkpointDir) checkpoints: the engine's Redis on a worker, a MemoryStore locally. */
  store: ArrayStore;
  registry: PluginRegistry;
  /** Plugin packages this process serves (a config naming another one is rejected). */
  plugins: readonly string[];
  progress(p: SweepProgress): Promise<void>;
}

/** A finished job: the runner's numbers (without images), every iteration's log row, and where it came from. */
export interface SweepResult extends Omit<ExperimentResult, 'images'> {
  id: string;
  label: string;
  seed: number;
  /** The regularizer whose θ was learned, with θ's named blocks (theta.json). */
  regularizer: { name: string; layout: ParameterLayout };
  rows: IterationRecord[];
  /** θ after each iteration (only when the job asked for them: keepThetas). */
  thetas?: number[][];
  /** The iteration this job continued from (a checkpoint left by a worker that died or failed); absent from θ₀. */
  resumedFrom?: number;
}

/** The stored result of a job (undefined when it has not finished, or its key expired). */
export async function storedResult(store: ArrayStore, id: string): Promise<SweepResult | undefined> {
  try {
    return await store.getJson<SweepResult>(sweepKeys(id).result);
  } catch (e) {
    if (e instanceof MissingKeyError) return undefined;
    throw e;
  }
}

/** Checks plugins, selects the config's backend and builds the experiment; a bad config can never succeed (no retries). */
async function prepare(job: SweepJob, ctx: SweepJobContext): Promise<Experiment> {
  try {
    checkPlugins(job.config, ctx.plugins);
    await useBackend(typeof job.config.backend === 'string' ? job.config.backend : undefined);
    return await buildExperiment(job.config, { baseDir: job.baseDir, registry: ctx.registry });
  } catch (e) {
    if (e instanceof BilevelError) throw unrecoverable(e.message);
    throw e;
  }
}

/** The result as JSON carries it (so a local run returns exactly what a worker would); frees the result's images. */
async function resultOf(job: SweepJob, experiment: Experiment, r: ExperimentResult, log: SavedProgress, resumedFrom: number | undefined): Promise<SweepResult> {
  const { images, ...numbers } = r;
  tf.dispose([images.train.input, images.train.learned, ...(images.test ? [images.test.input, images.test.learned] : [])]);
  const { regularizer } = await experiment.spec();
  return JSON.parse(JSON.stringify({
    id: job.id, label: job.label, seed: job.seed, ...numbers, regularizer: { name: regularizer.name, layout: regularizer.layout },
    rows: log.rows, ...(log.thetas ? { thetas: log.thetas } : {}), ...(resumedFrom ? { resumedFrom } : {}),
  })) as SweepResult;
}

/**
 * Runs a sweep job: builds its experiment, continues from the job's checkpoint when one exists (bit-for-bit: the θ of
 * an uninterrupted run), checkpoints every `checkpointEvery` iterations, and stores the result under
 * `bilevel:sweep:<id>:result` (a finished job is not run again, even after BullMQ forgot it).
 */
export async function runSweepJob(job: SweepJob, ctx: SweepJobContext): Promise<SweepResult> {
  const done = await storedResult(ctx.store, job.id);
  if (done) return done;
  const experiment = await prepare(job, ctx);
  try {
    const slot = checkpointSlot(job, ctx.store);
    const saved = await slot.load();
    const resume = saved ? decodeCheckpoint(saved.checkpoint, `the checkpoint of sweep job ${job.id}`) : undefined;
    const kept = resume?.iterations ?? 0;
    const log: SavedProgress = { rows: saved?.rows.slice(0, kept) ?? [], thetas: job.keepThetas ? saved?.thetas?.slice(0, kept) ?? [] : undefined };
    const maxIterations = experiment.config.budget.maxIterations;
    const result = await runExperiment(experiment, {
      checkpointEvery: job.checkpointEvery, resume,
      onIteration: (record, theta) => {
        log.rows.push({ ...record });
        log.thetas?.push(Array.from(theta));
        // Progress is advisory: a lost update must not fail the job.
        ctx.progress({ iteration: record.iter, maxIterations, record }).catch(() => {});
      },
      onCheckpoint: (c) => slot.save({
        checkpoint: encodeCheckpoint(c), rows: log.rows.slice(0, c.iterations), thetas: log.thetas?.slice(0, c.iterations),
      }),
    });
    const out = await resultOf(job, experiment, result, log, resume ? kept : undefined);
    await ctx.store.putJson(sweepKeys(job.id).result, out);
    await slot.clear();
    return out;
  } finally {
    await experiment.dispose();
  }
}
