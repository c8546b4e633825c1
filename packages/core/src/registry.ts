import { Container, type interfaces } from 'inversify';
import type { PluginContext, PluginDescriptor, PluginKind, PluginKinds } from './contracts/plugin.js';
import { UnknownPluginError } from './errors.js';
import type { Options } from './options.js';

/** The DI token under which every plugin module binds its descriptors (multi-binding). */
export const PLUGIN = Symbol.for('bilevel.plugin');

/**
 * DI tokens of an experiment's parts. @bilevel/experiment binds each in the experiment's container from the config
 * (plugins through the registry's descriptors); the runner resolves them, so any can be rebound in code before a run:
 * `experiment.container.rebind(TOKENS.regularizer).toConstantValue(new IsotropicTV())`.
 */
export const TOKENS = {
  /** The validated ExperimentConfig. */
  config: Symbol.for('bilevel.config'),
  /** The PluginContext plugin factories receive (image shape, seed). */
  context: Symbol.for('bilevel.context'),
  operator: Symbol.for('bilevel.operator'),
  fidelity: Symbol.for('bilevel.fidelity'),
  regularizer: Symbol.for('bilevel.regularizer'),
  lowerSolver: Symbol.for('bilevel.lowerSolver'),
  linearSolver: Symbol.for('bilevel.linearSolver'),
  optimizer: Symbol.for('bilevel.optimizer'),
  /** The training oracle: an async, transient binding (a fresh Oracle per run; the runner disposes it). */
  oracle: Symbol.for('bilevel.oracle'),
  /** θ₀ as a Float64Array. */
  theta0: Symbol.for('bilevel.theta0'),
  /** Ground truth and measurements of the training split, and of the test split (bound only when there is one). */
  train: Symbol.for('bilevel.train'),
  test: Symbol.for('bilevel.test'),
  /** How a split is reconstructed at θ for the reported PSNR/SSIM (the lower solver, or the piggyback oracle's PDHG). */
  evaluator: Symbol.for('bilevel.evaluator'),
} as const;
export type TokenName = keyof typeof TOKENS;

/** What a plugin package's ContainerModule does: bind each descriptor under PLUGIN. */
export function bindPlugins(bind: interfaces.Bind, descriptors: readonly PluginDescriptor[]): void {
  for (const d of descriptors) bind<PluginDescriptor>(PLUGIN).toConstantValue(d);
}

/** Builds an inversify container from plugin modules (each package exports one). */
export function createContainer(modules: readonly interfaces.ContainerModule[]): Container {
  const c = new Container();
  c.load(...modules);
  return c;
}

/** Lists and instantiates the plugins a container holds. */
export class PluginRegistry {
  private readonly byKind = new Map<PluginKind, Map<string, PluginDescriptor>>();

  constructor(descriptors: readonly PluginDescriptor[]) {
    for (const d of descriptors) this.add(d);
  }

  static fromContainer(c: Container): PluginRegistry {
    return new PluginRegistry(c.isBound(PLUGIN) ? c.getAll<PluginDescriptor>(PLUGIN) : []);
  }

  add(d: PluginDescriptor): void {
    const m = this.byKind.get(d.kind) ?? new Map<string, PluginDescriptor>();
    if (m.has(d.name)) throw new Error(`two ${d.kind} plugins are both named "${d.name}": rename one of them`);
    m.set(d.name, d);
    this.byKind.set(d.kind, m);
  }

  names(kind: PluginKind): string[] {
    return [...(this.byKind.get(kind)?.keys() ?? [])].sort();
  }

  list(): PluginDescriptor[] {
    return [...this.byKind.values()].flatMap((m) => [...m.values()]);
  }

  descriptor<K extends PluginKind>(kind: K, name: string): PluginDescriptor<K> {
    const d = this.byKind.get(kind)?.get(name);
    if (!d) throw new UnknownPluginError(kind, name, this.names(kind));
    return d as unknown as PluginDescriptor<K>;
  }

  create<K extends PluginKind>(kind: K, name: string, options: Options, ctx: PluginContext, path: string): PluginKinds[K] {
    return this.descriptor(kind, name).create(options, ctx, path);
  }
}
