import { dirname, resolve } from 'node:path';
import { composeExperiment, parseConfig, type ExperimentConfig, type ExperimentSpec, type PluginRegistry } from '@bilevel/core';
import { addGaussianNoise, loadImages, toBatch } from '@bilevel/datasets';
import { defaultRegistry } from './plugins.js';

export interface BuildOptions {
  /** Folder relative data paths resolve from (the config file's folder; default: cwd). */
  baseDir?: string;
  registry?: PluginRegistry;
}

/** Validates a config object and composes the experiment's instances (any of which may then be replaced). */
export async function buildExperiment(raw: unknown, o: BuildOptions = {}): Promise<ExperimentSpec> {
  const config: ExperimentConfig = parseConfig(raw);
  const registry = o.registry ?? (await defaultRegistry(config.plugins));
  const baseDir = o.baseDir ?? process.cwd();
  return composeExperiment(config, registry, (source, path) => toBatch(loadImages(source, path, baseDir)), addGaussianNoise);
}

export function configDir(configPath: string): string {
  return dirname(resolve(configPath));
}
