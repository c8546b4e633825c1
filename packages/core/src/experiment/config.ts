import { BACKENDS } from '../backend.js';
import { ConfigError } from '../errors.js';
import type { Options } from '../options.js';

/** A plugin chosen by name, with its options. */
export interface PluginChoice {
  name: string;
  options: Options;
}

/** Where images come from: a folder of PNGs, or generated piecewise-smooth images. */
export type ImageSource =
  | { source: 'folder'; path: string; count?: number; offset?: number; size?: [number, number] }
  | { source: 'synthetic'; count: number; size: [number, number]; seed?: number };

export interface NoiseSpec {
  type: 'gaussian';
  /** Standard deviation, absolute (relative: false) or as a fraction of the measurement's max. */
  sigma: number;
  relative?: boolean;
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

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function obj(v: unknown, path: string, required: boolean): Obj | undefined {
  if (v === undefined && !required) return undefined;
  if (!isObj(v)) throw new ConfigError(path, `expected an object, got ${JSON.stringify(v)}`, `give ${path} as { ... }`);
  return v;
}
function num(v: unknown, path: string, opts: { min?: number; positive?: boolean; integer?: boolean; fallback?: number } = {}): number {
  if (v === undefined && opts.fallback !== undefined) return opts.fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ConfigError(path, `expected a finite number, got ${JSON.stringify(v)}`, `set ${path} to a number`);
  if (opts.integer && !Number.isInteger(v)) throw new ConfigError(path, `expected an integer, got ${v}`, `set ${path} to a whole number`);
  if (opts.positive && v <= 0) throw new ConfigError(path, `must be > 0, got ${v}`, `set ${path} to a positive number`);
  if (opts.min !== undefined && v < opts.min) throw new ConfigError(path, `must be ≥ ${opts.min}, got ${v}`, `set ${path} to at least ${opts.min}`);
  return v;
}
function str(v: unknown, path: string): string {
  if (typeof v !== 'string' || v.length === 0) throw new ConfigError(path, `expected a non-empty string, got ${JSON.stringify(v)}`, `set ${path} to a name`);
  return v;
}
function size(v: unknown, path: string): [number, number] {
  if (!Array.isArray(v) || v.length !== 2) throw new ConfigError(path, `expected [height, width], got ${JSON.stringify(v)}`, 'give the size as [height, width]');
  return [num(v[0], `${path}[0]`, { integer: true, min: 8 }), num(v[1], `${path}[1]`, { integer: true, min: 8 })];
}
function choice(v: unknown, path: string, fallback?: string): PluginChoice {
  if (v === undefined && fallback) return { name: fallback, options: {} };
  if (typeof v === 'string') return { name: str(v, path), options: {} };
  const o = obj(v, path, true)!;
  return { name: str(o.name, `${path}.name`), options: obj(o.options, `${path}.options`, false) ?? {} };
}
function imageSource(v: unknown, path: string): ImageSource {
  const o = obj(v, path, true)!;
  if (o.source === 'folder') {
    return {
      source: 'folder',
      path: str(o.path, `${path}.path`),
      count: o.count === undefined ? undefined : num(o.count, `${path}.count`, { integer: true, min: 1 }),
      offset: o.offset === undefined ? undefined : num(o.offset, `${path}.offset`, { integer: true, min: 0 }),
      size: o.size === undefined ? undefined : size(o.size, `${path}.size`),
    };
  }
  if (o.source === 'synthetic') {
    return {
      source: 'synthetic',
      count: num(o.count, `${path}.count`, { integer: true, min: 1 }),
      size: size(o.size, `${path}.size`),
      seed: o.seed === undefined ? undefined : num(o.seed, `${path}.seed`, { integer: true }),
    };
  }
  throw new ConfigError(`${path}.source`, `expected "folder" or "synthetic", got ${JSON.stringify(o.source)}`, 'set source to "folder" (with path) or "synthetic" (with count and size)');
}

/** Validates a parsed JSON config; throws ConfigError naming the first bad field and its fix. */
export function parseConfig(raw: unknown): ExperimentConfig {
  const c = obj(raw, '$', true)!;
  const data = obj(c.data, 'data', true)!;
  const noise = obj(data.noise, 'data.noise', true)!;
  if (noise.type !== undefined && noise.type !== 'gaussian') throw new ConfigError('data.noise.type', `unknown noise ${JSON.stringify(noise.type)}`, 'use "gaussian"');
  const reg = choice(c.regularizer, 'regularizer');
  const theta0Raw = isObj(c.regularizer) ? c.regularizer.theta0 : undefined;
  let theta0: number[] | undefined;
  if (theta0Raw !== undefined) {
    if (!Array.isArray(theta0Raw)) throw new ConfigError('regularizer.theta0', 'expected an array of numbers', 'give theta0 as [number, ...] or omit it for the reference initialisation');
    theta0 = theta0Raw.map((t, i) => num(t, `regularizer.theta0[${i}]`));
  }
  const budget = obj(c.budget, 'budget', false) ?? {};
  if (c.backend !== undefined && !(BACKENDS as readonly string[]).includes(c.backend as string)) {
    throw new ConfigError('backend', `unknown backend ${JSON.stringify(c.backend)}`, `use one of ${BACKENDS.join(', ')}`);
  }
  const plugins = c.plugins ?? [];
  if (!Array.isArray(plugins) || plugins.some((p) => typeof p !== 'string')) throw new ConfigError('plugins', 'expected an array of package names', 'give plugins as ["package-name", ...]');
  return {
    name: c.name === undefined ? 'experiment' : str(c.name, 'name'),
    backend: c.backend as string | undefined,
    seed: num(c.seed, 'seed', { integer: true, fallback: 0 }),
    plugins: plugins as string[],
    data: {
      train: imageSource(data.train, 'data.train'),
      test: data.test === undefined ? undefined : imageSource(data.test, 'data.test'),
      noise: { type: 'gaussian', sigma: num(noise.sigma, 'data.noise.sigma', { min: 0 }), relative: noise.relative === true },
    },
    operator: choice(c.operator, 'operator', 'identity'),
    fidelity: choice(c.fidelity, 'fidelity', 'l2'),
    regularizer: { ...reg, theta0 },
    gamma: num(c.gamma, 'gamma', { min: 0, fallback: 0 }),
    lowerSolver: choice(c.lowerSolver, 'lowerSolver', 'fista'),
    linearSolver: choice(c.linearSolver, 'linearSolver', 'cg'),
    optimizer: choice(c.optimizer, 'optimizer', 'maid'),
    budget: {
      maxIterations: num(budget.maxIterations, 'budget.maxIterations', { integer: true, min: 1, fallback: 1000 }),
      maxInnerIterations: budget.maxInnerIterations === undefined ? undefined : num(budget.maxInnerIterations, 'budget.maxInnerIterations', { integer: true, min: 1 }),
      maxSeconds: budget.maxSeconds === undefined ? undefined : num(budget.maxSeconds, 'budget.maxSeconds', { positive: true }),
    },
    evaluationTolerance: c.evaluationTolerance === undefined ? undefined : num(c.evaluationTolerance, 'evaluationTolerance', { positive: true }),
  };
}
