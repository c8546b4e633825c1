import type { PluginContext, PluginKind } from '../contracts/plugin.js';
import { collectIssues, ConfigError, ConfigErrors, InvalidDataError, ShapeError, type ConfigIssue } from '../errors.js';
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

/**
 * Builds the instances of an experiment from a validated config and a plugin registry. Every problem
 * (unknown plugins, bad plugin options, unreadable or mismatched data) is collected and thrown at once.
 */
export function composeExperiment(config: ExperimentConfig, registry: PluginRegistry, load: ImageLoader, noise: NoiseModel): ExperimentSpec {
  const issues: ConfigIssue[] = [];
  const trainClean = collectIssues(issues, 'data.train', () => {
    const b = load(config.data.train, 'data.train');
    if (b.shape[0] === 0) throw new ConfigError('data.train', 'the image set is empty', 'point it at a folder with PNG images or raise count');
    checkFinite(b, 'data.train');
    return b;
  });
  const testClean = config.data.test ? collectIssues(issues, 'data.test', () => load(config.data.test!, 'data.test')) : undefined;
  const [h, w] = trainClean ? [trainClean.shape[1], trainClean.shape[2]] : [8, 8];
  const ctx: PluginContext = { imageShape: [h, w], seed: config.seed };
  const make = <K extends PluginKind>(kind: K, field: 'operator' | 'fidelity' | 'regularizer' | 'lowerSolver' | 'linearSolver' | 'optimizer') =>
    collectIssues(issues, `${field}.name`, () => registry.create(kind, config[field].name, config[field].options, ctx, `${field}.options`));
  const operator = make('operator', 'operator');
  const fidelity = make('fidelity', 'fidelity');
  const regularizer = make('regularizer', 'regularizer');
  const lowerSolver = make('lowerSolver', 'lowerSolver');
  const linearSolver = make('linearSolver', 'linearSolver');
  const optimizer = make('optimizer', 'optimizer');
  if (testClean) {
    collectIssues(issues, 'data.test', () => {
      checkFinite(testClean, 'data.test');
      if (testClean.shape[1] !== h || testClean.shape[2] !== w) throw new ShapeError('data.test images', [h, w], testClean.shape.slice(1, 3));
    });
  }
  const theta0 = regularizer && (config.regularizer.theta0 ? Float64Array.from(config.regularizer.theta0) : Float64Array.from(regularizer.initialTheta(config.seed)));
  if (regularizer && theta0 && theta0.length !== regularizer.layout.size) {
    issues.push({ path: 'regularizer.theta0', problem: `has ${theta0.length} entries but "${regularizer.name}" has ${regularizer.layout.size} parameters`, fix: 'fix its length or omit it for the reference initialisation' });
  }
  if (issues.length || !trainClean || !operator || !fidelity || !regularizer || !lowerSolver || !linearSolver || !optimizer || !theta0) {
    tf.dispose([trainClean, testClean].filter((t): t is ImageBatch => t !== undefined));
    throw new ConfigErrors(issues);
  }
  const measure = (clean: ImageBatch, seed: number): ImagePairs => {
    const exact = operator.apply(clean);
    const measurement = noise(exact, config.data.noise, seed);
    exact.dispose();
    return { clean, measurement };
  };
  return {
    operator, fidelity, regularizer, lowerSolver, linearSolver, optimizer,
    gamma: config.gamma,
    theta0,
    train: measure(trainClean, config.seed),
    test: testClean ? measure(testClean, config.seed + 1) : undefined,
    budget: config.budget,
    seed: config.seed,
    evaluationTolerance: config.evaluationTolerance,
  };
}
