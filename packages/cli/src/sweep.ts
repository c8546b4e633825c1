import { resolve } from 'node:path';
import { BilevelError, ConfigError, ConfigErrors } from '@bilevel/core';
import { parseConfig } from '@bilevel/experiment';
import { checkEngine, engineFrom, readSweep, runSweep, type SweepOutcome, type SweepPlan, type SweepResult } from '@bilevel/distributed';
import { checkOutDir } from './out-check.js';
import { openSweepDir, saveResults, writeRunFolder, writeSweepReport } from './sweep-output.js';
import { SweepProgressView } from './sweep-progress.js';
import { outcomeCounts } from './stop-reasons.js';

export interface SweepCommandOptions {
  file: string;
  out: string;
  /** The engine URL (--engine, else BILEVEL_ENGINE); none: every job runs in this process. */
  engine?: string;
  /** Empty the output folder and run every job again (forgetting stored results and checkpoints). */
  force?: boolean;
  quiet?: boolean;
}

/** Validates every job's config (fields and plugin names' shape; data and plugin options are checked where it runs). */
function checkConfigs(file: string, plan: SweepPlan): void {
  for (const job of plan.jobs) {
    try {
      parseConfig(job.config);
    } catch (e) {
      if (!(e instanceof ConfigErrors || e instanceof ConfigError)) throw e;
      throw new BilevelError(`sweep file "${file}": the config of override "${job.label}" (seed ${job.seed}): ${e.message}`, 'fix the base config or the override\'s "set"');
    }
  }
}

/**
 * `bilevel sweep <sweep.json> --out DIR [--engine URL]`: expands the sweep to one job per override and seed, runs them
 * (on the engine's workers, else here), and writes DIR/<label>-seed<N>/ per job, results.json, table.md / table.csv,
 * loss.svg and psnr.svg. Nothing is written when the sweep file, a config or the engine is wrong. Finished jobs of an
 * earlier submission (stored on the engine, or in DIR/results.json) are skipped.
 */
export async function sweepCommand(o: SweepCommandOptions): Promise<SweepOutcome> {
  checkOutDir(o.out, true);
  const file = resolve(o.file);
  const plan = readSweep(o.file);
  checkConfigs(o.file, plan);
  const engine = engineFrom(o.engine);
  if (engine) await checkEngine(engine);
  const known = openSweepDir(o.out, file, Boolean(o.force));
  const say = (s: string) => o.quiet || process.stdout.write(s + '\n');
  const view = new SweepProgressView(plan.jobs.length);
  const results = new Map<string, SweepResult>(known.map((r) => [r.id, r]));
  const jobs = (n: number) => `${n} job${n === 1 ? '' : 's'}`;
  say(`sweep ${plan.name}: ${jobs(plan.jobs.length)} on ${engine ? `the engine at ${engine.display}` : 'this process'}`);
  const outcome = await runSweep(plan.jobs, {
    engine, known, force: o.force,
    onEvent: (e) => {
      if (e.type === 'ready' && e.workers === 0) process.stderr.write(`bilevel: warning: no worker serves ${e.where} now; the jobs wait for one (bilevel worker --engine URL)\n`);
      if (!o.quiet) view.event(e);
      if (e.type === 'done' || e.type === 'skipped') {
        writeRunFolder(o.out, e.job, e.result);
        results.set(e.result.id, e.result);
        saveResults(o.out, file, plan, results);
      }
    },
  });
  view.done();
  saveResults(o.out, file, plan, results);
  writeSweepReport(o.out, plan, outcome.results);
  say(`${jobs(outcome.results.length - outcome.skipped)} run, ${outcome.skipped} skipped (finished before), ${outcome.failed.length} failed; wrote ${o.out}/table.md, table.csv, loss.svg, psnr.svg, results.json and a folder per job`);
  for (const line of outcomeCounts(outcome.results.map((r) => r.stopReason))) say(line);
  if (outcome.failed.length) {
    // Each job's reason, its first lines (a config error lists its problems under its first line).
    const list = outcome.failed.map((f) => `  ${f.job.label} seed ${f.job.seed} (${f.job.id}): ${f.error.split('\n').slice(0, 6).join('\n    ')}`).join('\n');
    throw new BilevelError(`${outcome.failed.length} of ${jobs(plan.jobs.length)} failed:\n${list}`, 'fix the cause and run the same command again: finished jobs are skipped');
  }
  return outcome;
}
