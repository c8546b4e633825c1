import { Container, type interfaces } from 'inversify';
import type { PluginContext, PluginDescriptor, PluginKind, PluginKinds } from './contracts/plugin.js';
import { UnknownPluginError } from './errors.js';
import type { Options } from './options.js';

/** The DI token under which every plugin module binds its descriptors (multi-binding). */
export const PLUGIN = Symbol.for('bilevel.plugin');

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
