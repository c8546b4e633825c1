import { createContainer, PluginRegistry, type ContainerModule, type Options, type PluginContext, type Regularizer } from '@bilevel/core';
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

export interface PluginSuiteOptions extends RegularizerSuiteOptions {
  /** Options passed to the plugin's factory (as they would appear in a config). */
  options?: Options;
  /** Context passed to the factory (default: 16×16 images, seed 0). */
  context?: PluginContext;
}

/**
 * Everything a regularizer plugin must pass, in one call, from its ContainerModule: the module loads into a
 * container, binds a regularizer named `name` whose descriptor is well formed (parameterCount, when given,
 * matches the default layout), the layout is consistent, and the regularizer passes `regularizerConformance`
 * (finite-difference gradient / HVP / mixed product, curvature bounds, optional convexity, no tensor leak).
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
  try {
    d.create({ __surely_not_an_option__: 1 }, ctx, 'regularizer.options');
    problems.push('unknown options are accepted (call rejectUnknownOptions)');
  } catch {
    // expected
  }
  checks.push(check(`${name}: descriptor`, problems.length, 0, problems.join('; ') || undefined));
  const reg = d.create(o.options ?? {}, ctx, 'regularizer.options');
  if (reg.name !== name) checks.push(check(`${name}: instance name`, 1, 0, `the instance is named "${reg.name}"`));
  checks.push(layoutCheck(reg, o.seed ?? 0));
  const suite = await regularizerConformance(reg, o);
  checks.push(...suite.checks);
  return { subject: `regularizer plugin "${name}"`, checks, passed: checks.every((c) => c.passed) };
}
