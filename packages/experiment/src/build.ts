import { dirname, resolve } from 'node:path';
import {
  collectIssues, ConfigError, InvalidDataError, readScalars, tf, type ConfigIssue, type ImageBatch, type PluginRegistry,
} from '@bilevel/core';
import { addNoise, ensureImageSource, loadImages, toBatch } from '@bilevel/datasets';
import { parseConfig, type ExperimentConfig, type ImageSource } from './config.js';
import { composeContainer, type CleanImages, type NoiseModel } from './container.js';
import { defaultRegistry } from './plugins.js';
import { Experiment } from './spec.js';

export interface BuildOptions {
  /** Folder relative data paths resolve from (the config file's folder; default: cwd). */
  baseDir?: string;
  /** The plugins (default: the built-in ones plus the config's "plugins" packages). */
  registry?: PluginRegistry;
  /** The noise model of measurements (default: the datasets package's seeded Gaussian / Poisson noise). */
  noise?: NoiseModel;
  /** Clean images given instead of loading `data` (no test split then): a distributed worker's shard (taken over). */
  clean?: CleanImages;
  /** Fetch named data sets that are not cached yet (default true); false: report them as config issues instead. */
  download?: boolean;
}

/** Throws InvalidDataError when a tensor holds NaN or Inf. */
async function checkFinite(t: ImageBatch, what: string): Promise<void> {
  const [bad] = await readScalars(tf.tidy(() => tf.cast(tf.logicalNot(tf.all(tf.isFinite(t))), 'float32')));
  if (bad) throw new InvalidDataError(`${what} contains NaN or Inf values`, 'fix or remove the offending images');
}

/** Loads one split's clean images; problems become issues (undefined then). */
async function loadSplit(source: ImageSource, path: string, baseDir: string, issues: ConfigIssue[], download: boolean): Promise<ImageBatch | undefined> {
  try {
    await ensureImageSource(source, path, { download });
  } catch (e) {
    collectIssues(issues, path, () => { throw e; });
    return undefined;
  }
  const batch = collectIssues(issues, path, () => {
    const b = toBatch(loadImages(source, path, baseDir));
    if (b.shape[0] === 0) throw new ConfigError(path, 'the image set is empty', 'point it at a folder with PNG images or raise count');
    return b;
  });
  if (!batch) return undefined;
  try {
    await checkFinite(batch, path);
    return batch;
  } catch (e) {
    batch.dispose();
    collectIssues(issues, path, () => { throw e; });
    return undefined;
  }
}

/**
 * Validates a config object and composes the experiment on its container (README "Programmatic API"): every problem
 * (fields, unknown plugins, plugin options, unreadable or mismatched data) is thrown at once as ConfigErrors.
 */
export async function buildExperiment(raw: unknown, o: BuildOptions = {}): Promise<Experiment> {
  const config: ExperimentConfig = parseConfig(raw);
  const registry = o.registry ?? (await defaultRegistry(config.plugins));
  const baseDir = o.baseDir ?? process.cwd();
  const issues: ConfigIssue[] = [];
  if (o.clean) return new Experiment(composeContainer(config, registry, o.clean, o.noise ?? addNoise, issues), config, { raw, baseDir });
  const download = o.download ?? true;
  const train = await loadSplit(config.data.train, 'data.train', baseDir, issues, download);
  const test = config.data.test ? await loadSplit(config.data.test, 'data.test', baseDir, issues, download) : undefined;
  // Without training images, plugins are still checked (on an 8×8 stand-in) so that all problems are reported together.
  const clean = { train: train ?? (tf.zeros([1, 8, 8, 1]) as ImageBatch), test };
  const container = composeContainer(config, registry, clean, o.noise ?? addNoise, issues);
  return new Experiment(container, config, { raw, baseDir });
}

/** The folder a config file's relative paths resolve from. */
export function configDir(configPath: string): string {
  return dirname(resolve(configPath));
}
