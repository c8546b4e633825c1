import { ConfigError } from './errors.js';

/** Plugin options as they come from JSON. */
export type Options = Readonly<Record<string, unknown>>;

/** Reads a finite number option, with bounds, or its default. */
export function numberOption(
  opts: Options, key: string, fallback: number, path: string,
  bounds: { min?: number; max?: number; integer?: boolean; exclusiveMin?: boolean } = {},
): number {
  const raw = opts[key];
  if (raw === undefined) return fallback;
  const where = `${path}.${key}`;
  if (typeof raw !== 'number' || !Number.isFinite(raw)) throw new ConfigError(where, `expected a finite number, got ${JSON.stringify(raw)}`, `set ${key} to a number`);
  if (bounds.integer && !Number.isInteger(raw)) throw new ConfigError(where, `expected an integer, got ${raw}`, `set ${key} to a whole number`);
  if (bounds.min !== undefined && (bounds.exclusiveMin ? raw <= bounds.min : raw < bounds.min)) {
    throw new ConfigError(where, `must be ${bounds.exclusiveMin ? '>' : '≥'} ${bounds.min}, got ${raw}`, `choose a larger ${key}`);
  }
  if (bounds.max !== undefined && raw > bounds.max) throw new ConfigError(where, `must be ≤ ${bounds.max}, got ${raw}`, `choose a smaller ${key}`);
  return raw;
}

/** Reads a string option restricted to `choices`. */
export function choiceOption<T extends string>(opts: Options, key: string, fallback: T, choices: readonly T[], path: string): T {
  const raw = opts[key];
  if (raw === undefined) return fallback;
  if (typeof raw !== 'string' || !(choices as readonly string[]).includes(raw)) {
    throw new ConfigError(`${path}.${key}`, `expected one of ${choices.join(' | ')}, got ${JSON.stringify(raw)}`, `set ${key} to one of ${choices.join(', ')}`);
  }
  return raw as T;
}

/** Reads an optional array of finite numbers. */
export function numberArrayOption(opts: Options, key: string, path: string): number[] | undefined {
  const raw = opts[key];
  if (raw === undefined) return undefined;
  if (!Array.isArray(raw) || raw.some((v) => typeof v !== 'number' || !Number.isFinite(v))) {
    throw new ConfigError(`${path}.${key}`, `expected an array of finite numbers, got ${JSON.stringify(raw)}`, `give ${key} as [number, ...]`);
  }
  return raw as number[];
}

/** Rejects option keys the plugin does not know (typos fail loudly). */
export function rejectUnknownOptions(opts: Options, known: readonly string[], path: string): void {
  for (const key of Object.keys(opts)) {
    if (!known.includes(key)) throw new ConfigError(`${path}.${key}`, 'unknown option', `remove it; known options: ${known.join(', ') || '(none)'}`);
  }
}
