import { BilevelError } from '@bilevel/core';

/** A job names a plugin package that this worker was not started with (workers never load code a job names). */
export class PluginNotInstalledError extends BilevelError {
  constructor(pkg: string, allowed: readonly string[]) {
    super(`the job's config lists plugin package "${pkg}", which this worker does not serve (it serves: ${allowed.join(', ') || 'the built-in plugins only'})`,
      `install it on the worker's machine and start the worker with --plugin ${pkg}`);
  }
}

/** Throws unless every package of the config's "plugins" is one the worker was started with. */
export function checkPlugins(config: unknown, allowed: readonly string[]): void {
  const listed = (config as { plugins?: unknown } | null)?.plugins;
  if (listed === undefined) return;
  if (!Array.isArray(listed) || listed.some((p) => typeof p !== 'string')) throw new BilevelError('the job\'s config "plugins" is not a list of package names', 'fix the config');
  for (const pkg of listed as string[]) if (!allowed.includes(pkg)) throw new PluginNotInstalledError(pkg, allowed);
}
