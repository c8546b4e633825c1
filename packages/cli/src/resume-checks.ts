// What `bilevel resume` checks before it writes anything: run.json parses and has the fields a run records, the run
// has not finished, and the checkpoint agrees with the log and with the config (θ length).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BilevelError, type RunCheckpoint } from '@bilevel/core';

/** What `bilevel resume` needs to rebuild the same experiment (run.json). */
export interface RunRecord {
  config: Record<string, unknown>;
  baseDir: string;
  backend?: string;
  checkpointEvery: number;
  testEvery: number;
  workers?: number;
  shards?: number;
  /** The engine the run used, without its password (resume needs --engine or BILEVEL_ENGINE again). */
  engine?: string;
}

const EDITED = 'it was truncated or edited: restore it, or start the run again with `bilevel run … --force`';
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const whole = (v: unknown, min: number) => Number.isInteger(v) && (v as number) >= min;
const wholeOrAbsent = (v: unknown, min: number) => v === undefined || whole(v, min);

/** Reads and checks `dir`/run.json. */
export function readRunRecord(dir: string): RunRecord {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new BilevelError(`${dir} is not a folder`, 'resume takes the --out folder of an earlier `bilevel run`');
  const f = join(dir, 'run.json');
  if (!existsSync(f)) throw new BilevelError(`${dir} has no run.json`, 'resume takes the --out folder of an earlier `bilevel run`');
  let r: unknown;
  try {
    r = JSON.parse(readFileSync(f, 'utf8'));
  } catch (e) {
    throw new BilevelError(`${f} is unreadable (${(e as Error).message})`, EDITED);
  }
  if (!isObject(r)) throw new BilevelError(`${f} is not a JSON object`, EDITED);
  const bad = (field: string, want: string) => new BilevelError(`${f}: "${field}" must be ${want}`, EDITED);
  if (!isObject(r.config)) throw bad('config', 'the run\'s config object');
  if (typeof r.baseDir !== 'string') throw bad('baseDir', 'a folder path');
  if (!whole(r.checkpointEvery, 0)) throw bad('checkpointEvery', 'a whole number ≥ 0');
  if (!whole(r.testEvery, 0)) throw bad('testEvery', 'a whole number ≥ 0');
  if (!wholeOrAbsent(r.workers, 0)) throw bad('workers', 'a whole number ≥ 0');
  if (!wholeOrAbsent(r.shards, 1)) throw bad('shards', 'a whole number ≥ 1');
  for (const k of ['backend', 'engine'] as const) if (r[k] !== undefined && typeof r[k] !== 'string') throw bad(k, 'a string');
  return r as unknown as RunRecord;
}

/** Stop reasons after which a run can go on: it was stopped (signal), or its time ran out. */
const CONTINUABLE = new Set(['interrupted', 'budget']);

/**
 * Refuses a run that finished (summary.json with a final stop reason) — except one that stopped at its iteration
 * budget whose run.json now allows more iterations (a run extended on purpose).
 */
export function refuseFinished(dir: string, record: RunRecord): void {
  const f = join(dir, 'summary.json');
  if (!existsSync(f)) return;
  let summary: { stopReason?: unknown; outerIterations?: unknown };
  try {
    summary = JSON.parse(readFileSync(f, 'utf8')) as typeof summary;
  } catch {
    return; // A torn summary is rewritten by the resumed run.
  }
  const { stopReason, outerIterations } = summary;
  const max = (record.config.budget as { maxIterations?: unknown } | undefined)?.maxIterations;
  if (stopReason === 'max-iterations' && typeof max === 'number' && typeof outerIterations === 'number' && max > outerIterations) return;
  if (typeof stopReason === 'string' && !CONTINUABLE.has(stopReason)) {
    throw new BilevelError(`${dir} is a finished run (stopped: ${stopReason}); there is nothing to resume`,
      'its results are in summary.json; to run it again use `bilevel run <config> --out <another folder>` (or --force); to give a run that used up its iterations more, raise budget.maxIterations in its run.json');
  }
}

/** The rows of `dir`/iterations.jsonl, each checked to be a JSON object. */
function logRows(dir: string, kept: number): number {
  const f = join(dir, 'iterations.jsonl');
  const lines = existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter((l) => l.trim()) : [];
  // Only the rows the checkpoint keeps must parse: a row past it (torn by a kill, a full disk) is dropped on resume.
  lines.slice(0, kept).forEach((l, i) => {
    try {
      if (!isObject(JSON.parse(l))) throw new Error('not an object');
    } catch {
      throw new BilevelError(`${f} line ${i + 1} is not a JSON row`, EDITED);
    }
  });
  return lines.length;
}

/** The checkpoint is at most as far as the log, and its θ has as many entries as the config's regularizer. */
export function checkCheckpoint(dir: string, c: RunCheckpoint, parameters?: number): void {
  const rows = logRows(dir, Number.isInteger(c.iterations) ? c.iterations : 0);
  if (!Number.isInteger(c.iterations) || c.iterations < 0 || c.iterations > rows) {
    throw new BilevelError(`${join(dir, 'checkpoint.json')} is at iteration ${String(c.iterations)} but iterations.jsonl has ${rows} rows`, 'the folder was edited: restore it, or start the run again with `bilevel run … --force`');
  }
  const theta = isObject(c.optimizer) ? c.optimizer.theta : undefined;
  const length = ArrayBuffer.isView(theta) || Array.isArray(theta) ? (theta as ArrayLike<number>).length : undefined;
  if (parameters !== undefined && length !== undefined && length !== parameters) {
    throw new BilevelError(`${join(dir, 'checkpoint.json')} holds θ of ${length} entries but run.json's regularizer has ${parameters} parameters`, 'run.json or the checkpoint was edited: restore run.json, or start the run again with `bilevel run … --force`');
  }
}
