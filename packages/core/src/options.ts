import { z } from 'zod';
import { ConfigError, ConfigErrors, type ConfigIssue } from './errors.js';

export { z };

/** Plugin options as they come from JSON. */
export type Options = Readonly<Record<string, unknown>>;

/** A plugin's options declared once (issue 20): a strict zod object whose fields carry `.default(…)` and `.describe(…)`. */
export type OptionsObject = z.ZodObject<z.ZodRawShape>;

/**
 * The one declaration of a plugin's options: a strict object, or, when the accepted options depend on one field
 * (blur's `kernel`), a discriminated union of strict objects (the default variant gives its discriminator a default).
 */
export type OptionsSchema = OptionsObject | z.ZodDiscriminatedUnion<readonly OptionsObject[]>;

/** The strict objects a schema is made of: itself, or the variants of its union. */
export function optionVariants(schema: OptionsSchema): readonly OptionsObject[] {
  return schema instanceof z.ZodDiscriminatedUnion ? schema.options : [schema as OptionsObject];
}

/** The variant `raw` selects (its discriminator accepts raw's value, or its absence); undefined when none does. */
export function selectedVariant(schema: OptionsSchema, raw: Options): OptionsObject | undefined {
  if (!(schema instanceof z.ZodDiscriminatedUnion)) return schema as OptionsObject;
  const disc = schema.def.discriminator;
  return schema.options.find((v) => (v.shape[disc] as z.ZodType).safeParse(raw[disc]).success);
}

/**
 * Reports a cross-field problem from a schema's `.superRefine` as it reads in a ConfigError:
 * `config <path>.<key>: <problem>` and `→ <fix>`.
 */
export function addOptionIssue(ctx: z.core.$RefinementCtx, key: string, problem: string, fix: string): void {
  ctx.addIssue({ code: 'custom', path: [key], message: problem, params: { fix } });
}

/** What is wrong and the fix, for one zod issue on option `key` (got: the value given there). */
function describeIssue(issue: z.core.$ZodIssue, key: string, got: unknown): { problem: string; fix: string } {
  const shown = `, got ${JSON.stringify(got)}`;
  switch (issue.code) {
    case 'too_small':
      if (issue.origin === 'array') return { problem: `needs at least ${issue.minimum} entr${issue.minimum === 1 ? 'y' : 'ies'}${shown}`, fix: `give ${key} as [number, ...]` };
      return { problem: `must be ${issue.inclusive ? '≥' : '>'} ${issue.minimum}${shown}`, fix: `choose a larger ${key}` };
    case 'too_big': return { problem: `must be ${issue.inclusive ? '≤' : '<'} ${issue.maximum}${shown}`, fix: `choose a smaller ${key}` };
    case 'invalid_value': return oneOf(issue.values, key, shown);
    case 'invalid_union':
      if (issue.discriminator !== undefined && 'options' in issue && issue.options) return oneOf(issue.options.filter((v) => v !== undefined && v !== null), key, shown);
      return { problem: `${issue.message}${shown}`, fix: `fix ${key} (see \`bilevel plugins\`)` };
    case 'invalid_type':
      if (got === undefined) return { problem: 'is required', fix: `set ${key} (see \`bilevel plugins\`)` };
      if (issue.expected === 'int') return { problem: `expected an integer${shown}`, fix: `set ${key} to a whole number` };
      if (issue.expected === 'number') return { problem: `expected a finite number${shown}`, fix: `set ${key} to a number` };
      if (issue.expected === 'array') return { problem: `expected an array${shown}`, fix: `give ${key} as [number, ...]` };
      return { problem: `expected ${issue.expected}${shown}`, fix: `set ${key} to a value of type ${issue.expected}` };
    case 'custom': return { problem: issue.message, fix: typeof issue.params?.fix === 'string' ? issue.params.fix : `fix ${key} (see \`bilevel plugins\`)` };
    default: return { problem: `${issue.message}${shown}`, fix: `fix ${key} (see \`bilevel plugins\`)` };
  }
}

/** "expected one of …" for a closed set of values. */
function oneOf(values: readonly unknown[], key: string, shown: string): { problem: string; fix: string } {
  const listed = values.map((v) => JSON.stringify(v));
  return { problem: `expected one of ${listed.join(' | ')}${shown}`, fix: `set ${key} to one of ${listed.join(', ')}` };
}

/** The value at `path` inside raw options (undefined where absent). */
function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  return path.reduce<unknown>((v, k) => (v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined), raw);
}

/** Turns zod issues into config issues that name the field (`path.key`) and the fix. */
function optionIssues(error: z.ZodError, raw: Options, schema: OptionsSchema, path: string): ConfigIssue[] {
  const known = Object.keys(selectedVariant(schema, raw)?.shape ?? {});
  return error.issues.flatMap((issue): ConfigIssue[] => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((k) => ({ path: `${path}.${k}`, problem: 'unknown option', fix: `remove it; known options: ${known.join(', ') || '(none)'}` }));
    }
    const key = issue.path.map(String).join('.');
    return [{ path: `${path}.${key}`, ...describeIssue(issue, key, valueAt(raw, issue.path)) }];
  });
}

/**
 * Parses plugin options from JSON with the plugin's one schema: defaults filled in, every problem reported at once
 * as a ConfigError (one) or ConfigErrors (several) naming the field and the fix.
 */
export function parseOptions<S extends OptionsSchema>(schema: S, raw: Options, path: string): z.output<S> {
  const r = schema.safeParse(raw);
  if (r.success) return r.data as z.output<S>;
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

/** The options a variant fills in by default (a union variant: given only its discriminator value). */
function variantDefaults(variant: OptionsObject, disc: string | undefined): Record<string, unknown> {
  let r = variant.safeParse({});
  const lit = disc === undefined ? undefined : variant.shape[disc];
  if (!r.success && disc !== undefined && lit instanceof z.ZodLiteral) r = variant.safeParse({ [disc]: lit.value });
  return r.success ? (r.data as Record<string, unknown>) : {};
}

/**
 * The options a schema declares (every variant's, in order of first appearance), with their meanings and defaults:
 * the value the schema (the first variant that has the option) fills in, else a documented `.meta({ default })`
 * (a default computed at create time, or one an exclusion rule keeps out of the parsed options).
 */
export function optionDocs(schema: OptionsSchema): OptionDoc[] {
  const disc = schema instanceof z.ZodDiscriminatedUnion ? schema.def.discriminator : undefined;
  const docs = new Map<string, OptionDoc>();
  for (const variant of optionVariants(schema)) {
    const defaults = variantDefaults(variant, disc);
    for (const [name, field] of Object.entries(variant.shape)) {
      const f = field as z.ZodType;
      const before = docs.get(name);
      const dflt = before?.default ?? defaults[name] ?? f.meta()?.default;
      docs.set(name, { name, description: before?.description || f.description || '', default: dflt });
    }
  }
  return [...docs.values()];
}

/** JSON Schema of a plugin's options (input side: every field with a default is optional). */
export function optionsJsonSchema(schema: OptionsSchema): Record<string, unknown> {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io: 'input' }) as Record<string, unknown>;
  return rest;
}
