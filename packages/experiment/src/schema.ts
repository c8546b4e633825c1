import { z } from 'zod';
import { BACKENDS, optionsJsonSchema, type OptionsSchema, type PluginKind, type PluginRegistry } from '@bilevel/core';
import { DATASET_NAMES } from '@bilevel/datasets';
import { ORACLE_CHOICES } from './oracles.js';

// The one source of truth for config files: parseConfig validates with it, `bilevel schema` exports it as JSON Schema.

const name = z.string().min(1);
const size = z.tuple([z.number().int().min(8), z.number().int().min(8)]).describe('[height, width] in pixels');
const options = z.record(z.string(), z.unknown()).describe('plugin options (see `bilevel plugins`)');

/** A plugin by name, or { name, options }. */
const plugin = (fallback: string | undefined, what: string) => {
  const full = z.strictObject({ name: name.describe(`${what} plugin name`), options: options.optional() });
  const s = z.union([name, full]).transform((v) => (typeof v === 'string' ? { name: v, options: {} } : { name: v.name, options: v.options ?? {} }));
  return fallback ? s.default({ name: fallback, options: {} }) : s;
};

/** Which files of a folder or data set, and how they are brought to one size. */
const selection = {
  count: z.number().int().min(1).optional(),
  offset: z.number().int().min(0).optional(),
  size: size.optional(),
  fit: z.enum(['resize', 'crop']).optional().describe("how images are brought to `size`: 'resize' (bilinear, default) or 'crop' (centre crop; images must be at least that large)"),
};

export const imageSourceSchema = z.discriminatedUnion('source', [
  z.strictObject({
    source: z.literal('folder'),
    path: name.describe('folder of PNG images (relative to the config file)'),
    ...selection,
  }),
  z.strictObject({
    source: z.enum(DATASET_NAMES).describe('a named data set (docs/datasets.md, `bilevel data list`), fetched into the cache (BILEVEL_DATA_DIR or ~/.cache/bilevel) on first use, from BILEVEL_DATA_MIRROR first'),
    ...selection,
  }),
  z.strictObject({
    source: z.literal('synthetic'),
    count: z.number().int().min(1),
    size,
    seed: z.number().int().optional(),
  }),
  z.strictObject({
    source: z.literal('phantoms'),
    count: z.number().int().min(1),
    size,
    seed: z.number().int().optional(),
    kind: z.enum(['ellipses', 'shepp-logan']).default('ellipses').describe('seeded random ellipses, or the modified Shepp–Logan phantom'),
  }),
]);

export const noiseSchema = z.strictObject({
  type: z.enum(['gaussian', 'poisson']).default('gaussian'),
  sigma: z.number().min(0).optional().describe('gaussian: standard deviation (absolute, or relative to max |Ax| when relative)'),
  relative: z.boolean().default(false),
  photons: z.number().positive().optional().describe('poisson: incident photons per detector I₀'),
  attenuation: z.number().positive().optional().describe('poisson: κ in counts ~ Poisson(I₀ exp(−κ Ax)) (default 2 / max Ax)'),
}).superRefine((v, ctx) => {
  if (v.type === 'gaussian' && v.sigma === undefined) ctx.addIssue({ code: 'custom', path: ['sigma'], message: 'gaussian noise needs sigma' });
  if (v.type === 'poisson' && v.photons === undefined) ctx.addIssue({ code: 'custom', path: ['photons'], message: 'poisson noise needs photons (I₀)' });
}).transform((v) => ({ ...v, sigma: v.sigma ?? 0 }));

/** Oracles that need no regularizer plugin (their θ parameterises something else). */
const OWN_PARAMETERS = new Set(['piggyback']);

export const experimentSchema = z.strictObject({
  $schema: z.string().optional(),
  name: name.default('experiment'),
  backend: z.enum(BACKENDS).optional(),
  seed: z.number().int().default(0),
  plugins: z.array(name).default([]).describe('npm packages exporting a plugin ContainerModule'),
  data: z.strictObject({ train: imageSourceSchema, test: imageSourceSchema.optional(), noise: noiseSchema }),
  operator: plugin('identity', 'forward operator'),
  fidelity: plugin('l2', 'data term'),
  regularizer: z.strictObject({
    name: name.describe('regularizer plugin name'),
    options: options.optional(),
    theta0: z.array(z.number()).optional().describe('initial θ (default: the reference initialisation)'),
  }).transform((v) => ({ name: v.name, options: v.options ?? {}, theta0: v.theta0 })).optional().describe('required, except with oracle "piggyback"'),
  gamma: z.number().min(0).default(0).describe('weight of γ/2‖x‖² in the lower level'),
  lowerSolver: plugin('fista', 'lower-level solver'),
  linearSolver: plugin('cg', 'linear solver'),
  optimizer: plugin('maid', 'outer optimizer'),
  oracle: plugin('in-process', 'hypergradient oracle').describe('"in-process" (implicit differentiation of h; default) or "piggyback" (learned TV discretization, saddle-point lower level: see `bilevel plugins`)'),
  budget: z.strictObject({
    maxIterations: z.number().int().min(1).default(1000),
    maxInnerIterations: z.number().int().min(1).optional(),
    maxSeconds: z.number().positive().optional(),
  }).default({ maxIterations: 1000 }),
  evaluationTolerance: z.number().positive().optional(),
}).superRefine((v, ctx) => {
  if (v.regularizer === undefined && !OWN_PARAMETERS.has(v.oracle.name)) {
    ctx.addIssue({ code: 'custom', path: ['regularizer'], message: 'missing: the in-process oracle needs a regularizer', params: { fix: 'add "regularizer": { "name": "tv" } (see `bilevel plugins`)' } });
  }
});

type Json = Record<string, unknown>;
const PLUGIN_FIELDS: readonly PluginKind[] = ['operator', 'fidelity', 'regularizer', 'lowerSolver', 'linearSolver', 'optimizer'];

/** What a plugin field can name: a plugin's descriptor, or an oracle choice. */
interface FieldChoice {
  readonly name: string;
  readonly description: string;
  readonly schema?: OptionsSchema;
}

/** A plugin field's schema listing each choice by name with its options' schema (from its one declaration, where it has one). */
function choiceFieldSchema(choices: readonly FieldChoice[], base: Json, o: { theta0: boolean; bare: boolean }): Json {
  const theta0 = o.theta0 ? { theta0: (base.properties as Json | undefined)?.theta0 ?? { type: 'array', items: { type: 'number' } } } : {};
  const each = choices.map((d) => {
    const options = d.schema ? optionsJsonSchema(d.schema) : { type: 'object', description: 'plugin options (see `bilevel plugins`)' };
    return { type: 'object', description: d.description, properties: { name: { const: d.name }, options, ...theta0 }, required: ['name'], additionalProperties: false };
  });
  const bare = o.bare ? [{ enum: choices.map((d) => d.name) }] : [];
  return { ...(base.default !== undefined ? { default: base.default } : {}), ...(base.description ? { description: base.description } : {}), anyOf: [...bare, ...each] };
}

/** A plugin field's schema with every registered plugin of its kind. */
function pluginFieldSchema(registry: PluginRegistry, kind: PluginKind, base: Json): Json {
  const descriptors = registry.names(kind).map((name) => registry.descriptor(kind, name));
  return choiceFieldSchema(descriptors, base, { theta0: kind === 'regularizer', bare: kind !== 'regularizer' });
}

/**
 * JSON Schema of config files (for editors: `"$schema": "./bilevel.schema.json"`); given a registry, each plugin field
 * lists its plugins by name with their options' schemas.
 */
export function configJsonSchema(registry?: PluginRegistry): unknown {
  const schema = z.toJSONSchema(experimentSchema, { io: 'input' }) as Json & { properties: Record<string, Json> };
  if (registry) for (const kind of PLUGIN_FIELDS) schema.properties[kind] = pluginFieldSchema(registry, kind, schema.properties[kind]);
  schema.properties.oracle = choiceFieldSchema(ORACLE_CHOICES, schema.properties.oracle, { theta0: false, bare: true });
  return schema;
}
