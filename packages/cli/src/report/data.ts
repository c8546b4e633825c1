import { existsSync, readFileSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { BilevelError, type IterationRecord, type ParameterLayout } from '@bilevel/core';

/** Means over images of one split, as in summary.json. */
export interface SplitSummary {
  psnr: { input: number; learned: number };
  ssim: { input: number; learned: number };
}

/** The fields of summary.json the report reads (all optional: older or unfinished runs lack some). */
export interface RunSummary {
  name?: string;
  train?: SplitSummary;
  test?: SplitSummary;
  theta?: number[];
  upperLoss?: number;
  lowerIterations?: number;
  cgIterations?: number;
  /** Gradients and products spent probing ω's constants (not in lower + CG). */
  probeWork?: number;
  wallSeconds?: number;
  stopReason?: string;
  stopMessage?: string;
  outerIterations?: number;
  backend?: string;
  seed?: number;
}

/** theta.json, written by `bilevel run`: the learned θ with the regularizer's named blocks. */
export interface ThetaFile {
  regularizer: string;
  layout: ParameterLayout;
  theta: number[];
}

/** One example-image tile (ground truth | input | learned) as a data: URI. */
export interface ExampleImage {
  split: 'train' | 'test';
  file: string;
  dataUri: string;
}

/** Everything the report shows about one run folder. */
export interface RunData {
  dir: string;
  /** Unique short name in this report (the folder name, or a longer path where two folders share a name). */
  label: string;
  summary?: RunSummary;
  rows: IterationRecord[];
  theta?: ThetaFile;
  /** error.json's message, for a failed run. */
  error?: string;
  images: ExampleImage[];
  /** The regularizer named in run.json's config, when theta.json is absent. */
  regularizer?: string;
}

function readJson<T>(file: string): T | undefined {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch (e) {
    throw new BilevelError(`cannot parse ${file}: ${(e as Error).message}`, 'the run folder is damaged; rerun or remove it from the report');
  }
}

/** Parses iterations.jsonl; a torn last line (a run killed mid-write) is skipped. */
export function readIterations(file: string): IterationRecord[] {
  if (!existsSync(file)) return [];
  const rows: IterationRecord[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      rows.push(JSON.parse(line) as IterationRecord);
    } catch {
      // a partial line: ignore
    }
  }
  return rows;
}

/** Reads one run folder; throws a BilevelError naming the folder when it holds no run. */
export function loadRun(dir: string): RunData {
  const summary = readJson<RunSummary>(join(dir, 'summary.json'));
  const rows = readIterations(join(dir, 'iterations.jsonl'));
  const error = readJson<{ error?: string }>(join(dir, 'error.json'))?.error;
  if (!summary && rows.length === 0 && error === undefined) {
    throw new BilevelError(`${dir} is not a bilevel run folder (no summary.json, iterations.jsonl or error.json)`, 'pass the --out folder of `bilevel run`');
  }
  let theta = readJson<ThetaFile>(join(dir, 'theta.json'));
  const run = readJson<{ config?: { regularizer?: string | { name?: string } } }>(join(dir, 'run.json'));
  const reg = run?.config?.regularizer;
  const regularizer = typeof reg === 'string' ? reg : reg?.name;
  if (!theta && summary?.theta) {
    // Runs from before theta.json: one unnamed block.
    const n = summary.theta.length;
    theta = { regularizer: regularizer ?? 'unknown', layout: { size: n, blocks: [{ name: 'theta', offset: 0, shape: [n] }] }, theta: summary.theta };
  }
  const images: ExampleImage[] = [];
  for (const split of ['train', 'test'] as const) {
    const file = join(dir, `${split}-examples.png`);
    if (existsSync(file)) images.push({ split, file, dataUri: `data:image/png;base64,${readFileSync(file).toString('base64')}` });
  }
  return { dir, label: basename(resolve(dir)), summary, rows, theta, error, images, regularizer: theta?.regularizer ?? regularizer };
}

/** Loads the folders and makes their labels unique. */
export function loadRuns(dirs: string[]): RunData[] {
  const runs = dirs.map(loadRun);
  const seen = new Map<string, number>();
  for (const r of runs) seen.set(r.label, (seen.get(r.label) ?? 0) + 1);
  for (const r of runs) {
    if ((seen.get(r.label) ?? 0) > 1) r.label = relative(process.cwd(), resolve(r.dir)) || r.label;
  }
  const again = new Set<string>();
  runs.forEach((r, i) => {
    if (again.has(r.label)) r.label = `${r.label} (${i + 1})`;
    again.add(r.label);
  });
  return runs;
}
