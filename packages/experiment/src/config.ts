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

/** Turns zod issues into "path: problem → fix" items. */
function describeIssue(issue: z.core.$ZodIssue): ConfigIssue {
  const path = issue.path.length ? issue.path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i ? `.${String(p)}` : String(p))).join('') : '$';
  const i = issue as z.core.$ZodIssue & { expected?: string; minimum?: number; inclusive?: boolean; keys?: string[]; values?: unknown[]; options?: unknown[]; params?: { fix?: string } };
  switch (issue.code) {
    case 'invalid_type':
      return { path, problem: issue.message, fix: i.expected === 'undefined' ? 'remove it' : `set ${path} to ${/^[aeiou]/.test(i.expected ?? '') ? 'an' : 'a'} ${i.expected}` };
    case 'too_small':
      return { path, problem: issue.message, fix: `use a value ${i.inclusive ? '≥' : '>'} ${String(i.minimum)}` };
    case 'too_big':
      return { path, problem: issue.message, fix: 'use a smaller value' };
    case 'unrecognized_keys':
      return { path: `${path === '$' ? '' : path + '.'}${(i.keys ?? []).join(', ')}`, problem: 'unknown field', fix: 'remove it or fix its spelling (see docs/running.md, "Config format")' };
    case 'invalid_value':
      return { path, problem: issue.message, fix: `use one of ${(i.values ?? []).map((v) => JSON.stringify(v)).join(', ')}` };
    case 'invalid_union':
      return { path, problem: issue.message, fix: path.endsWith('source') || path.endsWith('train') || path.endsWith('test') ? SOURCE_FIX : 'give a plugin name or { "name": ..., "options": {...} }' };
    default:
      return { path, problem: issue.message, fix: i.params?.fix ?? 'see docs/running.md, "Config format"' };
  }
}

/** Validates a parsed JSON config; throws ConfigErrors listing every bad field with its fix. */
export function parseConfig(raw: unknown): ExperimentConfig {
  const r = experimentSchema.safeParse(raw);
  if (!r.success) throw new ConfigErrors(r.error.issues.map(describeIssue));
  const c = r.data;
  return { ...c, data: { ...c.data, noise: { ...c.data.noise } } } as ExperimentConfig;
}
