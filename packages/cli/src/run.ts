import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { BilevelError, useBackend, type RunCheckpoint } from '@bilevel/core';
import {
  buildExperiment, configDir, DEFAULT_CONFIG, loadCheckpoint, parseConfig, restorePreviousCheckpoint, runExperiment, runManifest, saveCheckpoint, truncateLog, useWorkers,
  readJsonc, type Experiment, type ExperimentResult, type SplitMetrics,
} from '@bilevel/experiment';
import { checkEngine, DEFAULT_SHARDS, engineFrom, useEngine, type EngineSpec } from '@bilevel/distributed';
import { lockRunFolder } from './lock.js';
import { checkOutDir } from './out-check.js';
import { checkCheckpoint, readRunRecord, refuseFinished, type RunRecord } from './resume-checks.js';
import { IterationLog, prepareOutDir, summaryOf, writeAtomic, writeFigures } from './output.js';
import { Progress } from './progress.js';
import { stopOutcome } from './stop-reasons.js';
import { runReport } from './report/index.js';

export interface RunOptions {
  config?: string;
  useDefault?: boolean;
  out: string;
  backend?: string;
  seed?: number;
  force?: boolean;
  quiet?: boolean;
  /** Checkpoint every N outer iterations (default 5; 0 = only on SIGINT/SIGTERM). */
  checkpointEvery?: number;
  /** Evaluate test PSNR every M iterations (default 0 = only at the end). */
  testEvery?: number;
  /** Worker threads for the training oracle (0 = in-process). */
  workers?: number;
  /** Image shards when workers are used (default: CPU cores) or an engine (default 4). */
  shards?: number;
  /** The engine URL (--engine or BILEVEL_ENGINE): the training oracle's shard jobs go to its workers. */
  engine?: string;
}

/** Reads a config file (JSON with comments allowed), with errors that name the file, line and column. */
export function readConfig(file: string): unknown {
  return readJsonc(file, 'config');
}

/** `bilevel run`: validates, composes, runs, and writes summary.json, iterations.jsonl and figures into `out`. */
export async function runCommand(o: RunOptions): Promise<ExperimentResult> {
  checkOutDir(o.out, Boolean(o.force));
  const raw = (o.useDefault ? structuredClone(DEFAULT_CONFIG) : readConfig(o.config!)) as Record<string, unknown>;
  if (o.seed !== undefined) raw.seed = o.seed;
  const record: RunRecord = {
    config: raw, baseDir: o.useDefault ? process.cwd() : configDir(o.config!), backend: o.backend,
    checkpointEvery: o.checkpointEvery ?? 5, testEvery: o.testEvery ?? 0, workers: o.workers, shards: o.shards,
  };
  const engine = engineFrom(o.engine);
  if (engine && o.workers) throw new BilevelError('--engine and --workers both shard the training oracle', 'use one: --engine for workers on other machines, --workers for threads on this one');
  if (engine) Object.assign(record, { engine: engine.display, shards: o.shards ?? DEFAULT_SHARDS });
  return locked(o.out, () => execute(record, o.out, { force: Boolean(o.force), quiet: Boolean(o.quiet), engine }));
}

const warn = (message: string) => process.stderr.write(`bilevel: warning: ${message}\n`);

/** Runs `f` holding the run folder's lock (one process per run folder: lock.ts). */
async function locked<T>(dir: string, f: () => Promise<T>): Promise<T> {
  const lock = await lockRunFolder(dir, warn);
  try {
    return await f();
  } finally {
    await lock.release();
  }
}

/**
 * `bilevel resume <dir>`: continues a stopped or killed run from its last checkpoint, on the backend run.json records
 * (the one the run used), or on `backend` when given (θ then agrees only to that backend's float32 round-off).
 */
export async function resumeCommand(dir: string, quiet = false, backend?: string, engineUrl?: string): Promise<ExperimentResult> {
  const record = readRunRecord(dir);
  refuseFinished(dir, record);
  const engine = engineFrom(engineUrl);
  if (record.engine && !engine) throw new BilevelError(`${dir} ran on the engine at ${record.engine}`, 'pass --engine redis://[:password@]host:port (or set BILEVEL_ENGINE) to resume it there');
  return locked(dir, () => {
    const loaded = loadCheckpoint(dir);
    if (loaded) checkCheckpoint(dir, loaded.checkpoint);
    if (loaded?.warning) {
      warn(loaded.warning);
      restorePreviousCheckpoint(dir);
    }
    return execute(backend ? { ...record, backend } : record, dir, { quiet, resume: loaded?.checkpoint ?? null, engine });
  });
}

const quality = (s: SplitMetrics) => `PSNR ${s.psnr.input.toFixed(2)} → ${s.psnr.learned.toFixed(2)} dB, SSIM ${s.ssim.input.toFixed(3)} → ${s.ssim.learned.toFixed(3)}`;

/** summary.json, theta.json and the example images; then the report (which only warns when it fails). */
async function writeResults(out: string, experiment: Experiment, result: ExperimentResult, backend: string, say: (s: string) => void): Promise<void> {
  const { config } = experiment;
  const spec = await experiment.spec();
  const summary = summaryOf(config.name, result, {
    backend, seed: config.seed, configHash: createHash('sha256').update(JSON.stringify(experiment.source.raw)).digest('hex').slice(0, 16), ...runManifest(),
  });
  await writeFigures(out, result, { train: spec.train.clean, test: spec.test?.clean });
  writeAtomic(join(out, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  writeAtomic(join(out, 'theta.json'), JSON.stringify({ regularizer: spec.regularizer.name, layout: spec.regularizer.layout, theta: result.theta }, null, 2) + '\n');
  say(stopOutcome(result.stopReason, spec.optimizer.name));
  say(`  after ${result.iterations} outer iterations in ${result.wallSeconds.toFixed(1)} s: ${result.message}`);
  say(`train: ${quality(result.train)}`);
  if (result.test) say(`test:  ${quality(result.test)}`);
  const blocks = spec.regularizer.layout.blocks.map((b) => b.name);
  say(`θ (${spec.regularizer.name}: ${blocks.slice(0, 4).join(', ')}${blocks.length > 4 ? ', …' : ''}) = [${result.theta.slice(0, 8).map((t) => t.toFixed(4)).join(', ')}${result.theta.length > 8 ? ', …' : ''}]`);
  const report = await runReport(out, (w) => process.stderr.write(`bilevel: warning: ${w}\n`));
  const examples = spec.test ? 'train-examples.png, test-examples.png' : 'train-examples.png';
  say(`wrote ${out}/: summary.json, iterations.jsonl, theta.json, ${examples}${report ? `, report.html (${report.figures.length} figures, also as SVG${report.pngs.length ? ' and PNG' : ''})` : ''}`);
}

/** SIGINT/SIGTERM set a flag the driver polls (it then checkpoints and stops); `off` removes the handlers. */
function signals(): { stopped: () => boolean; off: () => void } {
  let interrupted = false;
  const on = () => { interrupted = true; };
  process.once('SIGINT', on);
  process.once('SIGTERM', on);
  return { stopped: () => interrupted, off: () => { process.off('SIGINT', on); process.off('SIGTERM', on); } };
}

interface ExecuteOptions {
  force?: boolean;
  quiet: boolean;
  resume?: RunCheckpoint | null;
  engine?: EngineSpec;
}

async function execute(record: RunRecord, out: string, o: ExecuteOptions): Promise<ExperimentResult> {
  const backend = await useBackend(record.backend ?? parseConfig(record.config).backend);
  const experiment = await buildExperiment(record.config, { baseDir: record.baseDir });
  const say = (s: string) => o.quiet || process.stdout.write(s + '\n');
  if (record.workers) useWorkers(experiment, { workers: record.workers, shards: record.shards, backend });
  if (o.engine) {
    await checkEngine(o.engine);
    useEngine(experiment, {
      engine: o.engine, shards: record.shards,
      onReady: ({ where, workers, shards }) => say(`engine ${where}: ${shards} shards, ${workers} worker${workers === 1 ? '' : 's'} serving now${workers ? '' : ' (start one: bilevel worker --engine URL)'}`),
    });
  }
  const { config } = experiment;
  const spec = await experiment.spec();
  if (o.resume) checkCheckpoint(out, o.resume, config.regularizer ? spec.regularizer.layout.size : undefined);
  if (o.resume === undefined) {
    prepareOutDir(out, Boolean(o.force));
    // The backend actually used (flag, config or BILEVEL_BACKEND), so that `resume` continues on it.
    writeAtomic(join(out, 'run.json'), JSON.stringify({ ...record, backend }, null, 2));
  }
  for (const f of ['summary.json', 'error.json']) rmSync(join(out, f), { force: true });
  const log = new IterationLog(out, o.resume ? truncateLog(join(out, 'iterations.jsonl'), o.resume.iterations) : []);
  const progress = new Progress(config.budget.maxIterations, config.budget.maxSeconds);
  if (o.resume) say(`resuming ${out} from iteration ${o.resume.iterations}`);
  else if (o.resume === null) say(`no checkpoint in ${out}: restarting from the beginning`);
  const [n, h, w] = spec.train.clean.shape;
  say(`bilevel: ${config.name} on ${backend}: ${n} train${spec.test ? ` / ${spec.test.clean.shape[0]} test` : ''} images ${h}×${w}, ${spec.regularizer.name} (${spec.regularizer.layout.size} parameters), ${spec.optimizer.name}${record.workers ? `, ${record.workers} workers` : ''}${record.engine ? `, engine ${record.engine}` : ''}`);
  if (!o.quiet) progress.legend();
  const sig = signals();
  try {
    const result = await runExperiment(experiment, {
      shouldStop: sig.stopped, checkpointEvery: record.checkpointEvery, testEvery: record.testEvery, resume: o.resume ?? undefined,
      onCheckpoint: (c) => saveCheckpoint(out, c),
      onIteration: (r) => {
        log.append(r);
        if (!o.quiet) progress.update(r);
      },
    });
    progress.done();
    await writeResults(out, experiment, result, backend, say);
    return result;
  } catch (e) {
    writeAtomic(join(out, 'error.json'), JSON.stringify({ error: (e as Error).message }, null, 2) + '\n');
    throw e;
  } finally {
    sig.off();
  }
}
