import { z } from 'zod';
import { ConfigErrors, type ConfigIssue } from '../errors.js';
import { experimentSchema } from './schema.js';
import type { Options } from '../options.js';

/** A plugin chosen by name, with its options. */
export interface PluginChoice {
  name: string;
  options: Options;
}

/** Where images come from: a folder of PNGs, generated piecewise-smooth images, or CT phantoms. */
export type ImageSource =
  | { source: 'folder'; path: string; count?: number; offset?: number; size?: [number, number]; fit?: 'resize' | 'crop' }
  | { source: 'synthetic'; count: number; size: [number, number]; seed?: number }
  | { source: 'phantoms'; count: number; size: [number, number]; seed?: number; kind?: 'ellipses' | 'shepp-logan' };

export interface NoiseSpec {
  /** gaussian: y + σn; poisson: transmission counts ~ Poisson(I₀ e^{−κy}), returned as −ln(counts/I₀)/κ. */
  type: 'gaussian' | 'poisson';
  /** Gaussian standard deviation, absolute (relative: false) or as a fraction of the measurement's max (0 for poisson). */
  sigma: number;
  relative?: boolean;
  /** Poisson: incident photons per detector, I₀. */
  photons?: number;
  /** Poisson: κ (attenuation per unit of the measurement); default 2 / max y. */
  attenuation?: number;
}

/** A whole experiment as JSON (README "Config format"). */
export interface ExperimentConfig {
  name: string;
  backend?: string;
  seed: number;
  plugins: string[];
  data: { train: ImageSource; test?: ImageSource; noise: NoiseSpec };
  operator: PluginChoice;
  fidelity: PluginChoice;
  regularizer: PluginChoice & { theta0?: number[] };
  gamma: number;
  lowerSolver: PluginChoice;
  linearSolver: PluginChoice;
  optimizer: PluginChoice;
  budget: { maxIterations: number; maxInnerIterations?: number; maxSeconds?: number };
  evaluationTolerance?: number;
}

/** Turns zod issues into "path: problem → fix" items. */
function describeIssue(issue: z.core.$ZodIssue): ConfigIssue {
  const path = issue.path.length ? issue.path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i ? `.${String(p)}` : String(p))).join('') : '$';
  const i = issue as z.core.$ZodIssue & { expected?: string; minimum?: number; inclusive?: boolean; keys?: string[]; values?: unknown[]; options?: unknown[] };
  switch (issue.code) {
    case 'invalid_type':
      return { path, problem: issue.message, fix: i.expected === 'undefined' ? 'remove it' : `set ${path} to a ${i.expected}` };
    case 'too_small':
      return { path, problem: issue.message, fix: `use a value ${i.inclusive ? '≥' : '>'} ${String(i.minimum)}` };
    case 'too_big':
      return { path, problem: issue.message, fix: 'use a smaller value' };
    case 'unrecognized_keys':
      return { path: `${path === '$' ? '' : path + '.'}${(i.keys ?? []).join(', ')}`, problem: 'unknown field', fix: 'remove it or fix its spelling (see README "Config format")' };
    case 'invalid_value':
      return { path, problem: issue.message, fix: `use one of ${(i.values ?? []).map((v) => JSON.stringify(v)).join(', ')}` };
    case 'invalid_union':
      return { path, problem: issue.message, fix: path.endsWith('source') || path.endsWith('train') || path.endsWith('test') ? 'set source to "folder" (with path), "synthetic" or "phantoms" (with count and size)' : 'give a plugin name or { "name": ..., "options": {...} }' };
    default:
      return { path, problem: issue.message, fix: 'see README "Config format"' };
  }
}

/** Validates a parsed JSON config; throws ConfigErrors listing every bad field with its fix. */
export function parseConfig(raw: unknown): ExperimentConfig {
  const r = experimentSchema.safeParse(raw);
  if (!r.success) throw new ConfigErrors(r.error.issues.map(describeIssue));
  const c = r.data;
  return { ...c, data: { ...c.data, noise: { ...c.data.noise } } } as ExperimentConfig;
}
