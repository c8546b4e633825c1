// The output folder of `bilevel sweep`: one run folder per job, results.json (what a resubmission reuses), the table
// (CSV + Markdown) and the loss / PSNR plots against work.
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BilevelError } from '@bilevel/core';
import type { SweepJob, SweepPlan, SweepResult } from '@bilevel/distributed';
import { IterationLog, prepareOutDir, summaryOf, writeAtomic } from './output.js';
import { svgLines, type Series } from './plots.js';
import { csvTable, markdownTable, type Column } from './tables.js';

/** results.json: the sweep it belongs to and every finished job's result. */
interface ResultsFile {
  sweep: string;
  name: string;
  results: SweepResult[];
}

/** A job's run folder name. */
export const runFolder = (r: { label: string; seed: number }) => `${r.label}-seed${r.seed}`;

/**
 * Prepares the output folder and returns the results it holds already: an earlier output of the same sweep file is
 * continued (its finished jobs are skipped); any other non-empty folder is refused unless `force` (then emptied).
 */
export function openSweepDir(dir: string, sweepFile: string, force: boolean): SweepResult[] {
  const file = join(dir, 'results.json');
  if (!force && existsSync(file)) {
    let prior: ResultsFile;
    try {
      prior = JSON.parse(readFileSync(file, 'utf8')) as ResultsFile;
    } catch (e) {
      throw new BilevelError(`${file} is unreadable (${(e as Error).message})`, 'pass --force to start the sweep over in that folder, or choose another --out');
    }
    if (prior.sweep === sweepFile) return prior.results;
    throw new BilevelError(`output folder "${dir}" holds the results of another sweep (${prior.sweep})`, 'choose another --out, or pass --force to overwrite it');
  }
  if (!force && existsSync(dir) && readdirSync(dir).length > 0) throw new BilevelError(`output folder "${dir}" already exists and is not a sweep's output`, 'choose another --out, or pass --force to overwrite it');
  prepareOutDir(dir, force);
  return [];
}

/** Rewrites results.json with the results of the plan's jobs finished so far (in job order). */
export function saveResults(dir: string, sweepFile: string, plan: SweepPlan, results: ReadonlyMap<string, SweepResult>): void {
  const file: ResultsFile = { sweep: sweepFile, name: plan.name, results: plan.jobs.flatMap((j) => results.get(j.id) ?? []) };
  writeAtomic(join(dir, 'results.json'), JSON.stringify(file) + '\n');
}

/** DIR/<label>-seed<N>/: summary.json, theta.json, iterations.jsonl (as `bilevel run` writes them, so `bilevel report` reads it). */
export function writeRunFolder(dir: string, job: SweepJob, r: SweepResult): void {
  const run = join(dir, runFolder(r));
  mkdirSync(run, { recursive: true });
  const name = typeof job.config.name === 'string' ? job.config.name : r.label;
  const summary = summaryOf(name, r, { seed: r.seed, label: r.label, jobId: r.id, backend: job.config.backend, ...(r.resumedFrom ? { resumedFrom: r.resumedFrom } : {}) });
  writeAtomic(join(run, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  writeAtomic(join(run, 'theta.json'), JSON.stringify({ regularizer: r.regularizer.name, layout: r.regularizer.layout, theta: r.theta }, null, 2) + '\n');
  const log = new IterationLog(run);
  for (const row of r.rows) log.append(row);
}

const COLUMNS: Column[] = [
  { key: 'label', title: 'label', align: 'left' }, { key: 'seed', title: 'seed' }, { key: 'jobId', title: 'job id', align: 'left' },
  { key: 'stop', title: 'stop', align: 'left' }, { key: 'iterations', title: 'outer its' }, { key: 'upperLoss', title: 'final upper loss', digits: 6 },
  { key: 'trainPsnr', title: 'train PSNR', digits: 4 }, { key: 'testPsnr', title: 'test PSNR', digits: 4 },
  { key: 'work', title: 'lower+CG' }, { key: 'wallSeconds', title: 'wall s', digits: 3 },
];

const work = (r: { lowerIterations: number; cgIterations: number }) => r.lowerIterations + r.cgIterations;

/** table.md, table.csv, loss.svg and psnr.svg of the finished jobs. */
export function writeSweepReport(dir: string, plan: SweepPlan, results: readonly SweepResult[]): void {
  const rows = results.map((r) => ({
    label: r.label, seed: r.seed, jobId: r.id, stop: r.stopReason, iterations: r.iterations, upperLoss: r.upperLoss,
    trainPsnr: r.train.psnr.learned, testPsnr: r.test?.psnr.learned, work: Math.round(work(r)), wallSeconds: r.wallSeconds,
  }));
  const md = `# ${plan.name}\n\n${results.length} of ${plan.jobs.length} jobs. Final loss and PSNRs: the runner's evaluation of the final θ; ` +
    '"lower+CG": lower-level + CG iterations spent; "wall s": the last worker\'s time on the job (from its checkpoint, when resumed).\n\n' + markdownTable(COLUMNS, rows);
  writeAtomic(join(dir, 'table.md'), md);
  writeAtomic(join(dir, 'table.csv'), csvTable(COLUMNS, rows));
  const series = (y: (row: SweepResult['rows'][number]) => number | undefined): Series[] =>
    results.map((r) => ({ label: runFolder(r), xs: r.rows.map(work), ys: r.rows.map((row) => y(row) ?? NaN) }));
  writeAtomic(join(dir, 'loss.svg'), svgLines(series((row) => row.upperLoss), {
    title: `${plan.name}: upper loss`, xLabel: 'total lower-level + CG iterations (log scale)', yLabel: 'upper loss f(θ) (log scale)', logX: true, logY: true,
  }));
  writeAtomic(join(dir, 'psnr.svg'), svgLines(series((row) => row.psnr), {
    title: `${plan.name}: train PSNR`, xLabel: 'total lower-level + CG iterations (log scale)', yLabel: 'mean train PSNR (dB)', logX: true,
  }));
}
