import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { BilevelError, parseConfig, runExperiment, tf, useBackend, type ExperimentResult, type RunCheckpoint } from '@bilevel/core';
import { loadCheckpoint, saveCheckpoint, truncateLog } from './checkpoint.js';
import { ShardedOracle } from './parallel/sharded-oracle.js';
import { buildExperiment, configDir } from './build.js';
import { DEFAULT_CONFIG } from './defaults.js';
import { runManifest } from './manifest.js';
import { IterationLog, prepareOutDir, summaryOf, writeAtomic, writeFigures } from './output.js';
import { Progress } from './progress.js';
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
  /** Image shards when workers are used (default: CPU cores). */
  shards?: number;
}

/** What `bilevel resume` needs to rebuild the same experiment. */
interface RunRecord {
  config: Record<string, unknown>;
  baseDir: string;
  backend?: string;
  checkpointEvery: number;
  testEvery: number;
  workers?: number;
  shards?: number;
}

/** Reads a config file as JSON, with errors that name the file. */
export function readConfig(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new BilevelError(`cannot read config "${file}"`, 'check the path');
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new BilevelError(`config "${file}" is not valid JSON: ${(e as Error).message}`, 'fix the JSON syntax');
  }
}

/** `bilevel run`: validates, composes, runs, and writes summary.json, iterations.jsonl and figures into `out`. */
export async function runCommand(o: RunOptions): Promise<ExperimentResult> {
  const raw = (o.useDefault ? structuredClone(DEFAULT_CONFIG) : readConfig(o.config!)) as Record<string, unknown>;
  if (o.seed !== undefined) raw.seed = o.seed;
  const record: RunRecord = {
    config: raw, baseDir: o.useDefault ? process.cwd() : configDir(o.config!), backend: o.backend,
    checkpointEvery: o.checkpointEvery ?? 5, testEvery: o.testEvery ?? 0, workers: o.workers, shards: o.shards,
  };
  return execute(record, o.out, { force: Boolean(o.force), quiet: Boolean(o.quiet) });
}

/** `bilevel resume <dir>`: continues a stopped or killed run from its last checkpoint. */
export async function resumeCommand(dir: string, quiet = false): Promise<ExperimentResult> {
  const f = join(dir, 'run.json');
  if (!existsSync(f)) throw new BilevelError(`${dir} has no run.json`, 'resume takes the --out folder of an earlier `bilevel run`');
  const record = JSON.parse(readFileSync(f, 'utf8')) as RunRecord;
  const checkpoint = loadCheckpoint(dir);
  return execute(record, dir, { quiet, resume: checkpoint ?? null });
}

async function execute(record: RunRecord, out: string, o: { force?: boolean; quiet: boolean; resume?: RunCheckpoint | null }): Promise<ExperimentResult> {
  const raw = record.config;
  const config = parseConfig(raw);
  const backend = await useBackend(record.backend ?? config.backend);
  const spec = await buildExperiment(raw, { baseDir: record.baseDir });
  if (record.workers) spec.oracle = await ShardedOracle.create(spec, { config: raw, baseDir: record.baseDir, backend, workers: record.workers, shards: record.shards });
  const resuming = o.resume !== undefined;
  if (!resuming) {
    prepareOutDir(out, Boolean(o.force));
    writeAtomic(join(out, 'run.json'), JSON.stringify(record, null, 2));
  }
  for (const f of ['summary.json', 'error.json']) rmSync(join(out, f), { force: true });
  const log = new IterationLog(out, o.resume ? truncateLog(join(out, 'iterations.jsonl'), o.resume.iterations) : []);
  const progress = new Progress(config.budget.maxIterations, config.budget.maxSeconds);
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const say = (s: string) => o.quiet || process.stdout.write(s + '\n');
  if (o.resume) say(`resuming ${out} from iteration ${o.resume.iterations}`);
  else if (resuming) say(`no checkpoint in ${out}: restarting from the beginning`);
  say(`bilevel: ${config.name} on ${backend}: ${spec.train.clean.shape[0]} train${spec.test ? ` / ${spec.test.clean.shape[0]} test` : ''} images ${spec.train.clean.shape[1]}×${spec.train.clean.shape[2]}, ${spec.regularizer.name} (${spec.regularizer.layout.size} parameters), ${spec.optimizer.name}`);
  try {
    const result = runExperiment(spec, {
      shouldStop: () => interrupted,
      checkpointEvery: record.checkpointEvery,
      testEvery: record.testEvery,
      onCheckpoint: (c) => saveCheckpoint(out, c),
      resume: o.resume ?? undefined,
      onIteration: (r) => {
        log.append(r);
        if (!o.quiet) progress.update(r);
      },
    });
    progress.done();
    const summary = summaryOf(config.name, result, {
      backend,
      seed: config.seed,
      configHash: createHash('sha256').update(JSON.stringify(raw)).digest('hex').slice(0, 16),
      ...runManifest(),
    });
    writeFigures(out, result, { train: spec.train.clean, test: spec.test?.clean });
    writeAtomic(join(out, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
    writeAtomic(join(out, 'theta.json'), JSON.stringify({ regularizer: spec.regularizer.name, layout: spec.regularizer.layout, theta: result.theta }, null, 2) + '\n');
    const f = (s: { psnr: { input: number; learned: number }; ssim: { input: number; learned: number } }) =>
      `PSNR ${s.psnr.input.toFixed(2)} → ${s.psnr.learned.toFixed(2)} dB, SSIM ${s.ssim.input.toFixed(3)} → ${s.ssim.learned.toFixed(3)}`;
    say(`stopped: ${result.stopReason} (${result.message}) after ${result.iterations} iterations, ${result.wallSeconds.toFixed(1)} s`);
    say(`train: ${f(result.train)}`);
    if (result.test) say(`test:  ${f(result.test)}`);
    say(`θ = [${result.theta.slice(0, 8).map((t) => t.toFixed(4)).join(', ')}${result.theta.length > 8 ? ', …' : ''}]`);
    // The report only warns when it fails: the run itself has succeeded.
    const report = await runReport(out, (w) => process.stderr.write(`bilevel: warning: ${w}\n`));
    say(`wrote ${out}/summary.json, iterations.jsonl, theta.json${report ? `, report.html (${report.figures.length} figures${report.pngs.length ? ' + PNG' : ''})` : ''}`);
    return result;
  } catch (e) {
    writeAtomic(join(out, 'error.json'), JSON.stringify({ error: (e as Error).message }, null, 2) + '\n');
    throw e;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
