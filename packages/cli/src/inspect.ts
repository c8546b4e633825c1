// The commands that look at configs and plugins without running anything: validate, plugins, schema.
import { optionListing, PLUGIN_KINDS, useBackend } from '@bilevel/core';
import { buildExperiment, configDir, configJsonSchema, defaultRegistry, ORACLE_CHOICES, parseConfig } from '@bilevel/experiment';
import { readConfig } from './run.js';

/**
 * `bilevel validate`: parses the config, composes the experiment and loads its data on the backend; runs nothing and
 * downloads nothing (a named data set that is not cached is reported with `bilevel data fetch …`).
 */
export async function validateCommand(file: string, backend?: string): Promise<void> {
  const raw = readConfig(file);
  const config = parseConfig(raw);
  await useBackend(backend ?? config.backend);
  await buildExperiment(raw, { baseDir: configDir(file), download: false });
  process.stdout.write(`${file}: valid (${config.name})\n`);
}

/** `bilevel schema`: the JSON Schema of config files with every registered plugin's options. */
export async function schemaCommand(packages: string[]): Promise<void> {
  process.stdout.write(JSON.stringify(configJsonSchema(await defaultRegistry(packages)), null, 2) + '\n');
}

/** `bilevel plugins`: every registered plugin with its options, then the oracles a config can name. */
export async function pluginsCommand(packages: string[]): Promise<void> {
  const registry = await defaultRegistry(packages);
  const entry = (name: string, description: string, options: Readonly<Record<string, string>> = {}, count = '') => {
    process.stdout.write(`  ${name.padEnd(16)} ${description}${count}\n`);
    for (const [opt, doc] of Object.entries(options)) process.stdout.write(`      ${opt}: ${doc}\n`);
  };
  for (const kind of PLUGIN_KINDS) {
    process.stdout.write(`${kind}:\n`);
    for (const name of registry.names(kind)) {
      const d = registry.descriptor(kind, name);
      entry(name, d.description, d.options, d.parameterCount !== undefined ? ` [${d.parameterCount} parameters]` : '');
    }
  }
  process.stdout.write('oracle:\n');
  for (const o of ORACLE_CHOICES) entry(o.name, o.description, optionListing(o.schema));
}
