import type { PluginContext } from '../contracts/plugin.js';
import { ConfigError, InvalidDataError, ShapeError } from '../errors.js';
import type { PluginRegistry } from '../registry.js';
import { tf, type ImageBatch, type Tensor } from '../tensor.js';
import type { ExperimentConfig, ImageSource, NoiseSpec } from './config.js';
import type { ExperimentSpec, ImagePairs } from './runner.js';

/** Loads an image set as [n, h, w, 1] in [0, 1] (the datasets package provides one). */
export type ImageLoader = (source: ImageSource, path: string) => ImageBatch;
/** Adds seeded noise to measurements (the datasets package provides one). */
export type NoiseModel = (clean: Tensor, noise: NoiseSpec, seed: number) => Tensor;

function checkFinite(t: Tensor, what: string): void {
  const bad = tf.tidy(() => tf.logicalNot(tf.all(tf.isFinite(t))).dataSync()[0]);
  if (bad) throw new InvalidDataError(`${what} contains NaN or Inf values`, 'fix or remove the offending images');
}

/** Builds the instances of an experiment from a validated config and a plugin registry. */
export function composeExperiment(config: ExperimentConfig, registry: PluginRegistry, load: ImageLoader, noise: NoiseModel): ExperimentSpec {
  const trainClean = load(config.data.train, 'data.train');
  if (trainClean.shape[0] === 0) throw new ConfigError('data.train', 'the image set is empty', 'point it at a folder with PNG images or raise count');
  const [, h, w] = trainClean.shape;
  const ctx: PluginContext = { imageShape: [h, w], seed: config.seed };
  const operator = registry.create('operator', config.operator.name, config.operator.options, ctx, 'operator.options');
  const measure = (clean: ImageBatch, seed: number, path: string): ImagePairs => {
    checkFinite(clean, path);
    if (clean.shape[1] !== h || clean.shape[2] !== w) throw new ShapeError(`${path} images`, [h, w], clean.shape.slice(1, 3));
    const exact = operator.apply(clean);
    const measurement = noise(exact, config.data.noise, seed);
    exact.dispose();
    return { clean, measurement };
  };
  const train = measure(trainClean, config.seed, 'data.train');
  const test = config.data.test ? measure(load(config.data.test, 'data.test'), config.seed + 1, 'data.test') : undefined;
  const regularizer = registry.create('regularizer', config.regularizer.name, config.regularizer.options, ctx, 'regularizer.options');
  const theta0 = config.regularizer.theta0 ? Float64Array.from(config.regularizer.theta0) : Float64Array.from(regularizer.initialTheta(config.seed));
  if (theta0.length !== regularizer.layout.size) {
    throw new ConfigError('regularizer.theta0', `has ${theta0.length} entries but "${regularizer.name}" has ${regularizer.layout.size} parameters`, 'fix its length or omit it for the reference initialisation');
  }
  return {
    operator,
    fidelity: registry.create('fidelity', config.fidelity.name, config.fidelity.options, ctx, 'fidelity.options'),
    regularizer,
    lowerSolver: registry.create('lowerSolver', config.lowerSolver.name, config.lowerSolver.options, ctx, 'lowerSolver.options'),
    linearSolver: registry.create('linearSolver', config.linearSolver.name, config.linearSolver.options, ctx, 'linearSolver.options'),
    optimizer: registry.create('optimizer', config.optimizer.name, config.optimizer.options, ctx, 'optimizer.options'),
    gamma: config.gamma,
    theta0,
    train,
    test,
    budget: config.budget,
    seed: config.seed,
    evaluationTolerance: config.evaluationTolerance,
  };
}
