// The sweep file (docs/sweeps.md): a base experiment config, overrides and seeds, expanded to one job each.
import { createHash } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { BilevelError, z } from '@bilevel/core';
import { ConfigFileError, readJsonc } from '@bilevel/experiment';
import type { SweepJob } from './sweep-job.js';
import { codeIdentity } from './version.js';

/** An override's label: also its run folders' name (with `-seed<N>`), so letters, digits, `.`, `_` and `-` only. */
export const SWEEP_LABEL = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'use 1–64 letters, digits, ".", "_" or "-" (it names a folder)');

const object = z.record(z.string(), z.unknown());

export const SWEEP_SCHEMA = z.strictObject({
  name: z.string().min(1).optional(),
  /** The base experiment config: a path relative to the sweep file, or the config itself. */
  base: z.union([z.string().min(1), object]),
  /** One job group per override: `set` is merged into the base as a JSON Merge Patch (RFC 7396). Default: the base alone. */
  overrides: z.array(z.strictObject({ label: SWEEP_LABEL, set: object.default({}) })).min(1).optional(),
  /** One job per seed and override (the config's `seed`: noise and initialisation). Default: the base's seed. */
  seeds: z.array(z.number().int().nonnegative()).min(1).optional(),
  checkpointEvery: z.number().int().nonnegative().default(5),
  /** A folder every worker can read and write for the checkpoints (relative to the sweep file); default: the engine's Redis. */
  checkpointDir: z.string().min(1).optional(),
});
export type SweepSpec = z.input<typeof SWEEP_SCHEMA>;

/** A sweep file that cannot be read, or a field of it that is wrong (named by its path). */
export class SweepFileError extends BilevelError {}

const HINT = 'see docs/sweeps.md for the sweep file format';

/**
 * A JSON Merge Patch (RFC 7396): objects merge key by key, `null` removes a key, anything else (arrays, scalars)
 * replaces. `a` is not modified.
 */
export function deepMerge(a: unknown, b: unknown): unknown {
  const plain = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (b === undefined) return a;
  if (!plain(b)) return structuredClone(b);
  const out: Record<string, unknown> = plain(a) ? { ...a } : {};
  for (const [k, v] of Object.entries(b)) {
    if (v === null) delete out[k];
    else out[k] = deepMerge(out[k], v);
  }
  return out;
}

/** JSON with object keys sorted at every level: equal values give equal text (the job id's input). */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    return `{${Object.keys(v).sort().filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/**
 * The code version in job ids: BILEVEL_CODE_VERSION when set, else every package's version and the git commit of the
 * current folder (uncommitted edits are not seen).
 */
export function codeVersion(): string {
  return process.env.BILEVEL_CODE_VERSION ?? canonicalJson(codeIdentity());
}

export interface JobInput {
  label: string;
  /** The raw config; its `seed` (default 0) is the job's seed. */
  config: Record<string, unknown>;
  /** Where its relative data paths resolve (on every worker). */
  baseDir: string;
  checkpointEvery?: number;
  checkpointDir?: string;
  keepThetas?: boolean;
}

/** One job; its id hashes what determines its result (config with seed, seed, data folder, kept θs, code version). */
export function sweepJob(o: JobInput, version = codeVersion()): SweepJob {
  const seed = typeof o.config.seed === 'number' ? o.config.seed : 0;
  const config = { ...structuredClone(o.config), seed };
  const baseDir = resolve(o.baseDir);
  const keepThetas = o.keepThetas ? true : undefined;
  const id = createHash('sha256').update(canonicalJson({ config, seed, baseDir, keepThetas, code: version })).digest('hex').slice(0, 16);
  return {
    id, label: o.label, seed, config, baseDir, checkpointEvery: o.checkpointEvery ?? 5,
    ...(o.checkpointDir ? { checkpointDir: resolve(o.checkpointDir) } : {}), ...(keepThetas ? { keepThetas } : {}),
  };
}

function readJson(file: string, what: string): unknown {
  try {
    return readJsonc(file, what);
  } catch (e) {
    if (e instanceof ConfigFileError) throw new SweepFileError(e.message);
    throw e;
  }
}

/** Validates a parsed sweep file; `where` names it in errors (each bad field by its path). */
export function parseSweep(raw: unknown, where = 'sweep'): z.output<typeof SWEEP_SCHEMA> {
  const r = SWEEP_SCHEMA.safeParse(raw);
  if (!r.success) {
    const issues = r.error.issues.map((i) => {
      const keys = (i as { keys?: string[] }).keys;
      return `  ${[...i.path.map(String), ...(keys ?? [])].join('.') || '(root)'}: ${keys ? 'unknown field' : i.message}`;
    });
    throw new SweepFileError(`${where} has ${issues.length} problem${issues.length === 1 ? '' : 's'}:\n${issues.join('\n')}`, HINT);
  }
  const labels = (r.data.overrides ?? []).map((o) => o.label);
  const twice = labels.find((l, i) => labels.indexOf(l) !== i);
  if (twice) throw new SweepFileError(`${where}: overrides: label "${twice}" appears twice`, 'give every override its own label (it names the run folders)');
  const seeds = r.data.seeds ?? [];
  const again = seeds.find((s, i) => seeds.indexOf(s) !== i);
  if (again !== undefined) throw new SweepFileError(`${where}: seeds: ${again} appears twice`, 'list each seed once');
  return r.data;
}

/** A sweep ready to run: its name and jobs (override-major, then seed). */
export interface SweepPlan {
  name: string;
  jobs: SweepJob[];
}

/**
 * Expands a sweep (file contents, relative paths from `dir`) to one job per override and seed. Two jobs with the same
 * id (overrides that give the same config) are refused.
 */
export function expandSweep(raw: unknown, dir: string, o: { where?: string; version?: string } = {}): SweepPlan {
  const where = o.where ?? 'sweep';
  const spec = parseSweep(raw, where);
  const basePath = typeof spec.base === 'string' ? resolve(dir, spec.base) : undefined;
  const base = basePath ? readJson(basePath, 'base config') : spec.base;
  if (typeof base !== 'object' || base === null || Array.isArray(base)) throw new SweepFileError(`${where}: base: the base config must be a JSON object`, HINT);
  const baseDir = basePath ? dirname(basePath) : resolve(dir);
  const seeds = spec.seeds ?? [typeof (base as { seed?: unknown }).seed === 'number' ? (base as { seed: number }).seed : 0];
  const jobs: SweepJob[] = [];
  const owner = new Map<string, string>();
  for (const { label, set } of spec.overrides ?? [{ label: 'base', set: {} }]) {
    for (const seed of seeds) {
      const config = { ...(deepMerge(base, set) as Record<string, unknown>), seed };
      const job = sweepJob({ label, config, baseDir, checkpointEvery: spec.checkpointEvery, checkpointDir: spec.checkpointDir && resolve(dir, spec.checkpointDir) }, o.version);
      const first = owner.get(job.id);
      if (first) throw new SweepFileError(`${where}: overrides "${first}" and "${label}" give the same job (seed ${seed})`, 'remove one of them, or make their "set" differ');
      owner.set(job.id, label);
      jobs.push(job);
    }
  }
  const name = spec.name ?? (typeof (base as { name?: unknown }).name === 'string' ? (base as { name: string }).name : 'sweep');
  return { name, jobs };
}

/** Reads and expands a sweep file (base path and checkpointDir relative to it). */
export function readSweep(file: string, version?: string): SweepPlan {
  return expandSweep(readJson(file, 'sweep file'), dirname(resolve(file)), { where: `sweep file "${file}"`, version });
}
