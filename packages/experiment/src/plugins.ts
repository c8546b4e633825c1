import { BilevelError, ContainerModule, createContainer, PluginRegistry } from '@bilevel/core';
import { operatorsModule } from '@bilevel/operators';
import { optimizersModule } from '@bilevel/optimizers';
import { crrModule } from '@bilevel/regularizers-crr';
import { foeModule } from '@bilevel/regularizers-foe';
import { icnnModule } from '@bilevel/regularizers-icnn';
import { tvModule } from '@bilevel/regularizers-tv';
import { solversModule } from '@bilevel/solvers';

/** The plugin modules that ship with bilevel. */
export const builtinModules: ContainerModule[] = [operatorsModule, tvModule, foeModule, icnnModule, crrModule, solversModule, optimizersModule];

/** Imports third-party plugin packages by name; each exports a ContainerModule as `default` or `plugin`. */
export async function importPluginModules(packages: readonly string[]): Promise<ContainerModule[]> {
  const modules: ContainerModule[] = [];
  for (const [i, pkg] of packages.entries()) {
    let mod: { default?: unknown; plugin?: unknown };
    try {
      mod = (await import(pkg)) as typeof mod;
    } catch (e) {
      throw new BilevelError(`config plugins[${i}]: cannot import "${pkg}" (${(e as Error).message.split('\n')[0]})`, `install it (npm install ${pkg}) or remove it from "plugins"`);
    }
    const m = mod.plugin ?? mod.default;
    // Duck-typed too: a plugin package may resolve its own copy of inversify.
    if (!(m instanceof ContainerModule) && !(typeof m === 'object' && m !== null && 'registry' in m)) {
      throw new BilevelError(`config plugins[${i}]: "${pkg}" exports no ContainerModule`, 'export the plugin module as `export default new ContainerModule(...)` or `export const plugin = ...`');
    }
    modules.push(m as ContainerModule);
  }
  return modules;
}

/** A registry with the built-in plugins plus the named third-party packages. */
export async function defaultRegistry(pluginPackages: readonly string[] = []): Promise<PluginRegistry> {
  return PluginRegistry.fromContainer(createContainer([...builtinModules, ...(await importPluginModules(pluginPackages))]));
}
