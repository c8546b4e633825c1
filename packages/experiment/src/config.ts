import { totalmem } from 'node:os';
import { z } from 'zod';
import { ConfigErrors, type ConfigIssue, type ImageSource as FileOrGeneratedSource, type NoiseSpec, type Options } from '@bilevel/core';
import { DATASET_NAMES, type DatasetSource } from '@bilevel/datasets';
import { experimentSchema } from './schema.js';

export type { NoiseSpec };

/** Where a split's images come from: a folder, synthetic images, phantoms, or a named data set (docs/datasets.md). */
export type ImageSource = FileOrGeneratedSource | DatasetSource;

const SOURCE_FIX = `set source to "folder" (with path), "synthetic" or "phantoms" (with count and size), or a data set: ${DATASET_NAMES.map((n) => `"${n}"`).join(', ')} (\`bilevel data list\`)`;

/** A plugin chosen by name, with its options. */
export interface PluginChoice {
  name: string;
  options: Options;
}

/** A whole experiment as JSON (docs/running.md, "Config format"). */
export interface ExperimentConfig {
  name: string;
  backend?: string;
  seed: number;
  plugins: string[];
  data: { train: ImageSource; test?: ImageSource; noise: NoiseSpec };
  operator: PluginChoice;
  fidelity: PluginChoice;
  /** Absent only with the piggyback oracle (its θ parameterises the discretization K_θ instead). */
  regularizer?: PluginChoice & { theta0?: number[] };
  gamma: number;
  lowerSolver: PluginChoice;
  linearSolver: PluginChoice;
  optimizer: PluginChoice;
  /** The training oracle: "in-process" (default, implicit differentiation of h) or "piggyback" (saddle-point lower level). */
  oracle: PluginChoice;
  budget: { maxIterations: number; maxInnerIterations?: number; maxSeconds?: number };
  evaluationTolerance?: number;
}

/**
 * The issue inside a union that failed in one branch only beyond its type (e.g. a plugin given as an object whose
 * "options" is wrong), with its full path; undefined when every branch failed on the value's type.
 */
function innerIssue(issue: z.core.$ZodIssue): z.core.$ZodIssue | undefined {
  const branches = (issue as { errors?: z.core.$ZodIssue[][] }).errors ?? [];
  const deeper = branches.filter((b) => !(b.length === 1 && b[0].code === 'invalid_type' && b[0].path.length === 0));
  if (deeper.length !== 1 || deeper[0].length !== 1) return undefined;
  return { ...deeper[0][0], path: [...issue.path, ...deeper[0][0].path] } as z.core.$ZodIssue;
}

/** One step of a JSON path: `[3]`, `.name` (`name` first), or `["odd key"]` for a key that is not an identifier. */
function segment(p: PropertyKey, first: boolean): string {
  if (typeof p === 'number') return `[${p}]`;
  const k = String(p);
  if (!/^[A-Za-z_$][\w$-]*$/.test(k)) return `[${JSON.stringify(k)}]`;
  return first ? k : `.${k}`;
}

/** Turns zod issues into "path: problem → fix" items. */
function describeIssue(issue: z.core.$ZodIssue): ConfigIssue {
  const inner = issue.code === 'invalid_union' ? innerIssue(issue) : undefined;
  if (inner) return describeIssue(inner);
  const path = issue.path.length ? issue.path.map((p, i) => segment(p, i === 0)).join('') : '$';
  const i = issue as z.core.$ZodIssue & { expected?: string; minimum?: number; inclusive?: boolean; keys?: string[]; values?: unknown[]; options?: unknown[]; params?: { fix?: string } };
  switch (issue.code) {
    case 'invalid_type':
      return { path, problem: issue.message, fix: i.expected === 'undefined' ? 'remove it' : `set ${path} to ${/^[aeiou]/.test(i.expected ?? '') ? 'an' : 'a'} ${i.expected}` };
    case 'too_small':
      return { path, problem: issue.message, fix: `use a value ${i.inclusive ? '≥' : '>'} ${String(i.minimum)}` };
    case 'too_big':
      return { path, problem: issue.message, fix: 'use a smaller value' };
    case 'unrecognized_keys':
      return { path: (i.keys ?? []).map((k) => `${path === '$' ? '' : path}${segment(k, path === '$')}`).join(', '), problem: 'unknown field', fix: 'remove it or fix its spelling (see docs/running.md, "Config format")' };
    case 'invalid_value':
      return { path, problem: issue.message, fix: `use one of ${(i.values ?? []).map((v) => JSON.stringify(v)).join(', ')}` };
    case 'invalid_union':
      return { path, problem: issue.message, fix: path.endsWith('source') || path.endsWith('train') || path.endsWith('test') ? SOURCE_FIX : 'give a plugin name or { "name": ..., "options": {...} }' };
    default:
      return { path, problem: issue.message, fix: i.params?.fix ?? 'see docs/running.md, "Config format"' };
  }
}

/** Float32 copies of a split's images a run holds at once (clean, measured, reconstructions, solver and CG state). */
const WORKING_COPIES = 16;
/** The largest Float32Array (elements) a JavaScript engine makes. */
const MAX_TYPED = 2 ** 31 - 1;

/**
 * Refuses a split whose images cannot fit in memory: count × height × width × 4 bytes × WORKING_COPIES against the
 * machine's memory (os.totalmem), or one image beyond a typed array; names `size` when one image is already too much.
 */
function memoryIssue(source: ImageSource, path: string): ConfigIssue | undefined {
  const { size, count } = source as { size?: [number, number]; count?: number };
  if (!size) return undefined;
  const pixels = size[0] * size[1], memory = totalmem();
  const bytes = (n: number) => n * pixels * 4 * WORKING_COPIES;
  const gib = (b: number) => `${(b / 2 ** 30).toFixed(1)} GiB`;
  if (pixels > MAX_TYPED || bytes(1) > memory) {
    return { path: `${path}.size`, problem: `${size[0]}×${size[1]} images need about ${gib(bytes(1))} each while running; this machine has ${gib(memory)}`, fix: 'use smaller images (e.g. [256, 256])' };
  }
  if (count !== undefined && (count * pixels > MAX_TYPED || bytes(count) > memory)) {
    return { path: `${path}.count`, problem: `${count} images of ${size[0]}×${size[1]} need about ${gib(bytes(count))} while running; this machine has ${gib(memory)}`, fix: `use at most ${Math.max(1, Math.floor(Math.min(memory / bytes(1), MAX_TYPED / pixels)))} images, or smaller ones` };
  }
  return undefined;
}

/** Validates a parsed JSON config; throws ConfigErrors listing every bad field with its fix. */
export function parseConfig(raw: unknown): ExperimentConfig {
  const r = experimentSchema.safeParse(raw);
  if (!r.success) throw new ConfigErrors(r.error.issues.map(describeIssue));
  const c = r.data;
  const memory = [memoryIssue(c.data.train, 'data.train'), c.data.test && memoryIssue(c.data.test, 'data.test')].filter((i): i is ConfigIssue => Boolean(i));
  if (memory.length) throw new ConfigErrors(memory);
  return { ...c, data: { ...c.data, noise: { ...c.data.noise } } } as ExperimentConfig;
}
