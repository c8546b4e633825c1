import type { PluginContext, PluginDescriptor, PluginKind, PluginKinds } from './contracts/plugin.js';
import { optionDocs, parseOptions, type OptionsSchema, type z } from './options.js';

/** A plugin whose options are declared once, as a zod schema (defaults, checks, docs and JSON Schema all come from it). */
export interface PluginDefinition<K extends PluginKind, S extends OptionsSchema> {
  readonly kind: K;
  readonly name: string;
  readonly description: string;
  readonly schema: S;
  readonly parameterCount?: number;
  /** Builds the instance from parsed options (defaults filled in, every value checked). */
  create(options: z.output<S>, ctx: PluginContext): PluginKinds[K];
}

/** `value` as it reads in a listing: numbers and strings bare, others as JSON. */
function shown(value: unknown): string {
  return typeof value === 'number' || typeof value === 'string' ? String(value) : JSON.stringify(value);
}

/** Each option of a schema with its meaning and default, as `bilevel plugins` lists them. */
export function optionListing(schema: OptionsSchema): Record<string, string> {
  return Object.fromEntries(optionDocs(schema).map((o) => [o.name, o.default === undefined ? o.description : `${o.description} (default ${shown(o.default)})`]));
}

/**
 * The descriptor of a plugin declared by its option schema: `create` parses raw JSON options (errors name the field and
 * the fix), `options` lists each option with its meaning and default for `bilevel plugins`.
 */
export function definePlugin<K extends PluginKind, S extends OptionsSchema>(d: PluginDefinition<K, S>): PluginDescriptor<K> {
  return {
    kind: d.kind,
    name: d.name,
    description: d.description,
    parameterCount: d.parameterCount,
    schema: d.schema,
    options: optionListing(d.schema),
    create: (raw, ctx, path) => d.create(parseOptions(d.schema, raw, path), ctx),
  };
}
