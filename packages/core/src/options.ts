import { z } from 'zod';
import { ConfigError, ConfigErrors, type ConfigIssue } from './errors.js';

export { z };

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

/** A plugin's options declared once (issue 20): a strict zod object whose fields carry `.default(…)` and `.describe(…)`. */
export type OptionsSchema = z.ZodObject<z.ZodRawShape>;

/** What is wrong and the fix, for one zod issue on option `key`. */
function describeIssue(issue: z.core.$ZodIssue, key: string): { problem: string; fix: string } {
  switch (issue.code) {
    case 'too_small': return { problem: `must be ${issue.inclusive ? '≥' : '>'} ${issue.minimum}`, fix: `choose a larger ${key}` };
    case 'too_big': return { problem: `must be ${issue.inclusive ? '≤' : '<'} ${issue.maximum}`, fix: `choose a smaller ${key}` };
    case 'invalid_value': {
      const values = issue.values.map((v) => JSON.stringify(v));
      return { problem: `expected one of ${values.join(' | ')}`, fix: `set ${key} to one of ${values.join(', ')}` };
    }
    case 'invalid_type':
      if (issue.expected === 'int') return { problem: 'expected an integer', fix: `set ${key} to a whole number` };
      if (issue.expected === 'number') return { problem: 'expected a finite number', fix: `set ${key} to a number` };
      return { problem: `expected ${issue.expected}`, fix: `set ${key} to a value of type ${issue.expected}` };
    default: return { problem: issue.message, fix: `fix ${key} (see \`bilevel plugins\`)` };
  }
}

/** Turns zod issues into config issues that name the field (`path.key`) and the fix. */
function optionIssues(error: z.ZodError, raw: Options, schema: OptionsSchema, path: string): ConfigIssue[] {
  const known = Object.keys(schema.shape);
  return error.issues.flatMap((issue): ConfigIssue[] => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((k) => ({ path: `${path}.${k}`, problem: 'unknown option', fix: `remove it; known options: ${known.join(', ') || '(none)'}` }));
    }
    const key = issue.path.map(String).join('.');
    const { problem, fix } = describeIssue(issue, key);
    return [{ path: `${path}.${key}`, problem: `${problem}, got ${JSON.stringify(raw[String(issue.path[0])])}`, fix }];
  });
}

/**
 * Parses plugin options from JSON with the plugin's one schema: defaults filled in, every problem reported at once
 * as a ConfigError (one) or ConfigErrors (several) naming the field and the fix.
 */
export function parseOptions<S extends OptionsSchema>(schema: S, raw: Options, path: string): z.output<S> {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const issues = optionIssues(r.error, raw, schema, path);
  if (issues.length === 1) throw new ConfigError(issues[0].path, issues[0].problem, issues[0].fix);
  throw new ConfigErrors(issues);
}

/** One documented option: name, default (undefined when none) and meaning, for `bilevel plugins` and docs. */
export interface OptionDoc {
  readonly name: string;
  readonly description: string;
  readonly default?: unknown;
}

/** The options a schema declares, with their defaults and descriptions. */
export function optionDocs(schema: OptionsSchema): OptionDoc[] {
  const defaults = schema.safeParse({});
  return Object.entries(schema.shape).map(([name, field]) => ({
    name,
    description: (field as z.ZodType).description ?? '',
    default: defaults.success ? (defaults.data as Record<string, unknown>)[name] : undefined,
  }));
}

/** JSON Schema of a plugin's options (input side: every field with a default is optional). */
export function optionsJsonSchema(schema: OptionsSchema): Record<string, unknown> {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io: 'input' }) as Record<string, unknown>;
  return rest;
}
