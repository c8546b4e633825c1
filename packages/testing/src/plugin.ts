import {
  ConfigError, ConfigErrors, createContainer, optionDocs, optionsJsonSchema, PluginRegistry,
  type ContainerModule, type Options, type PluginContext, type PluginDescriptor, type Regularizer,
} from '@bilevel/core';
import { check, type CheckResult } from './checks.js';
import { regularizerConformance, type ConformanceReport, type RegularizerSuiteOptions } from './suites.js';

/** The layout is consistent: blocks tile [0, size) without gaps or overlaps, θ₀ has `size` finite entries, seeds are reproducible. */
export function layoutCheck(reg: Regularizer, seed = 0): CheckResult {
  const problems: string[] = [];
  const { size, blocks } = reg.layout;
  let next = 0;
  for (const b of [...blocks].sort((p, q) => p.offset - q.offset)) {
    const n = b.shape.reduce((p, q) => p * q, 1);
    if (b.offset !== next) problems.push(`block "${b.name}" starts at ${b.offset}, expected ${next}`);
    next = b.offset + n;
  }
  if (blocks.length && next !== size) problems.push(`blocks cover ${next} entries, layout.size is ${size}`);
  const t0 = reg.initialTheta(seed);
  if (t0.length !== size) problems.push(`initialTheta has ${t0.length} entries, layout.size is ${size}`);
  if (!t0.every(Number.isFinite)) problems.push('initialTheta has non-finite entries');
  const again = reg.initialTheta(seed);
  if (!again.every((v, i) => v === t0[i])) problems.push('initialTheta(seed) is not reproducible');
  const c = reg.curvature(t0);
  if (!(c.mu >= 0) || !(c.L > 0) || !Number.isFinite(c.L) || c.mu > c.L) problems.push(`curvature at θ₀ is not 0 ≤ μ ≤ L < ∞: μ = ${c.mu}, L = ${c.L}`);
  return check(`${reg.name}: parameter layout, initialTheta, curvature at θ₀`, problems.length, 0, problems.join('; ') || undefined);
}

const NOT_AN_OPTION = '__surely_not_an_option__';

/** Whether `e` is a config error naming `path` (alone, or among several). */
function namesPath(e: unknown, path: string): boolean {
  if (e instanceof ConfigError) return e.path === path;
  return e instanceof ConfigErrors && e.issues.some((i) => i.path === path);
}

/** Creates with `options`, disposing what the factory built (operators may hold tensors). */
function tryCreate(d: PluginDescriptor, options: Options, ctx: PluginContext, path: string): unknown {
  try {
    (d.create(options, ctx, path) as { dispose?: () => void }).dispose?.();
    return undefined;
  } catch (e) {
    return e;
  }
}

/**
 * A plugin's options are declared once (issue 20): the descriptor has a zod schema, `schema.parse({})` gives the
 * defaults (and creating with them works), every option is documented in the listing, the JSON Schema can be
 * generated, and an unknown key fails as a ConfigError naming `<path>.<key>`.
 */
export function pluginOptionsCheck(d: PluginDescriptor, ctx: PluginContext, path = `${d.kind}.options`): CheckResult {
  const name = `${d.name}: option schema`;
  if (!d.schema) return check(name, 1, 0, 'no options schema (declare the options once with definePlugin)');
  const problems: string[] = [];
  const defaults = d.schema.safeParse({});
  if (!defaults.success) problems.push(`schema.parse({}) fails: ${defaults.error.message}`);
  else {
    const err = tryCreate(d, defaults.data as Options, ctx, path);
    if (err) problems.push(`create(schema.parse({})) fails: ${err instanceof Error ? err.message : String(err)}`);
  }
  for (const o of optionDocs(d.schema)) {
    if (!o.description) problems.push(`option ${o.name} has no .describe(…)`);
    if (d.options && !(o.name in d.options)) problems.push(`option ${o.name} is missing from the listing (descriptor.options)`);
  }
  try {
    optionsJsonSchema(d.schema);
  } catch (e) {
    problems.push(`no JSON Schema: ${e instanceof Error ? e.message : String(e)}`);
  }
  const unknown = tryCreate(d, { [NOT_AN_OPTION]: 1 }, ctx, path);
  if (!unknown) problems.push('an unknown option is accepted (use a strict object)');
  else if (!namesPath(unknown, `${path}.${NOT_AN_OPTION}`)) problems.push(`an unknown option's error does not name ${path}.${NOT_AN_OPTION}`);
  return check(name, problems.length, 0, problems.join('; ') || undefined);
}

export interface PluginSuiteOptions extends RegularizerSuiteOptions {
  /** Options passed to the plugin's factory (as they would appear in a config). */
  options?: Options;
  /** Context passed to the factory (default: 16×16 images, seed 0). */
  context?: PluginContext;
}

/**
 * Everything a regularizer plugin must pass, in one call, from its ContainerModule: the module loads into a
 * container, binds a regularizer named `name` whose descriptor is well formed (parameterCount, when given,
 * matches the default layout) and declares its options once (pluginOptionsCheck), the layout is consistent, and
 * the regularizer passes `regularizerConformance` (finite-difference gradient / HVP / mixed product, curvature
 * bounds, optional convexity, no tensor leak).
 *
 *   import { assertConformance, regularizerPluginConformance } from '@bilevel/testing';
 *   await assertConformance(regularizerPluginConformance(plugin, 'huber', { convex: true }));
 */
export async function regularizerPluginConformance(module: ContainerModule, name: string, o: PluginSuiteOptions = {}): Promise<ConformanceReport> {
  const registry = PluginRegistry.fromContainer(createContainer([module]));
  const d = registry.descriptor('regularizer', name);
  const ctx = o.context ?? { imageShape: [16, 16] as const, seed: 0 };
  const checks: CheckResult[] = [];
  const problems: string[] = [];
  if (!d.description) problems.push('empty description');
  if (d.parameterCount !== undefined) {
    const dflt = d.create({}, ctx, 'regularizer.options');
    if (dflt.layout.size !== d.parameterCount) problems.push(`parameterCount ${d.parameterCount} ≠ layout.size ${dflt.layout.size} with default options`);
  }
  checks.push(check(`${name}: descriptor`, problems.length, 0, problems.join('; ') || undefined), pluginOptionsCheck(d, ctx, 'regularizer.options'));
  const reg = d.create(o.options ?? {}, ctx, 'regularizer.options');
  if (reg.name !== name) checks.push(check(`${name}: instance name`, 1, 0, `the instance is named "${reg.name}"`));
  checks.push(layoutCheck(reg, o.seed ?? 0));
  const suite = await regularizerConformance(reg, o);
  checks.push(...suite.checks);
  return { subject: `regularizer plugin "${name}"`, checks, passed: checks.every((c) => c.passed) };
}
