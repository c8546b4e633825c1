import { Container, type interfaces } from 'inversify';
import {
  collectIssues, ConfigError, ConfigErrors, ShapeError, TOKENS, tf,
  type ConfigIssue, type ForwardOperator, type ImageBatch, type PluginContext, type PluginKind, type PluginRegistry, type Regularizer, type Tensor,
} from '@bilevel/core';
import type { ExperimentConfig, NoiseSpec } from './config.js';
import { bindOracle } from './oracles.js';
import type { ImagePairs } from './spec.js';

/** Adds seeded noise to measurements (the datasets package provides one). */
export type NoiseModel = (clean: Tensor, noise: NoiseSpec, seed: number) => Tensor | Promise<Tensor>;

/** The clean images of an experiment, loaded and checked (composeContainer takes ownership). */
export interface CleanImages {
  readonly train: ImageBatch;
  readonly test?: ImageBatch;
}

type PluginField = 'operator' | 'fidelity' | 'regularizer' | 'lowerSolver' | 'linearSolver' | 'optimizer';
const PLUGIN_FIELDS: readonly PluginField[] = ['operator', 'fidelity', 'regularizer', 'lowerSolver', 'linearSolver', 'optimizer'];

/** y = noise(A x*, seed): the measurements of a split. */
async function measure(operator: ForwardOperator, clean: ImageBatch, noise: NoiseModel, spec: NoiseSpec, seed: number): Promise<ImagePairs> {
  const exact = operator.apply(clean);
  const measurement = await noise(exact, spec, seed);
  exact.dispose();
  return { clean, measurement };
}

/** θ₀: the config's, or the regularizer's reference initialisation; its length must match the layout. */
export function initialTheta(config: ExperimentConfig, regularizer: Regularizer): Float64Array {
  const given = config.regularizer?.theta0;
  const theta0 = given ? Float64Array.from(given) : Float64Array.from(regularizer.initialTheta(config.seed));
  if (theta0.length !== regularizer.layout.size) {
    throw new ConfigError('regularizer.theta0', `has ${theta0.length} entries but "${regularizer.name}" has ${regularizer.layout.size} parameters`, 'fix its length or omit it for the reference initialisation');
  }
  return theta0;
}

/** Binds the six plugin tokens to the registry's factories (singletons, created on first use). */
function bindPlugins(c: Container, config: ExperimentConfig, registry: PluginRegistry, ctx: PluginContext): void {
  for (const field of PLUGIN_FIELDS) {
    const choice = config[field];
    if (!choice) continue;
    const kind: PluginKind = field;
    c.bind(TOKENS[field]).toDynamicValue(() => registry.create(kind, choice.name, choice.options, ctx, `${field}.options`)).inSingletonScope();
  }
}

/** Binds θ₀, the two splits' measurements (seeds s and s + 1) and, through bindOracle, the oracle and the evaluator. */
function bindDerived(c: Container, config: ExperimentConfig, clean: CleanImages, noise: NoiseModel): void {
  const get = <T>(ctx: interfaces.Context, token: symbol) => ctx.container.getAsync<T>(token);
  c.bind(TOKENS.theta0).toDynamicValue(async (ctx) => initialTheta(config, await get<Regularizer>(ctx, TOKENS.regularizer))).inSingletonScope();
  c.bind(TOKENS.train).toDynamicValue(async (ctx) => measure(await get(ctx, TOKENS.operator), clean.train, noise, config.data.noise, config.seed)).inSingletonScope();
  const test = clean.test;
  if (test) c.bind(TOKENS.test).toDynamicValue(async (ctx) => measure(await get(ctx, TOKENS.operator), test, noise, config.data.noise, config.seed + 1)).inSingletonScope();
}

/** Instantiates every plugin once (in config order) and checks θ₀ and the test images: all problems at once. */
function validate(c: Container, config: ExperimentConfig, clean: CleanImages, issues: ConfigIssue[]): void {
  const made = PLUGIN_FIELDS.map((field) => (config[field] ? collectIssues(issues, `${field}.name`, () => c.get(TOKENS[field])) : true));
  const [h, w] = clean.train.shape.slice(1, 3);
  if (clean.test && (clean.test.shape[1] !== h || clean.test.shape[2] !== w)) {
    collectIssues(issues, 'data.test', () => { throw new ShapeError('data.test images', [h, w], clean.test!.shape.slice(1, 3)); });
  }
  const regularizer = made[PLUGIN_FIELDS.indexOf('regularizer')];
  if (config.regularizer && regularizer) collectIssues(issues, 'regularizer.theta0', () => initialTheta(config, regularizer as Regularizer));
}

/**
 * The experiment's container: config, plugin context, the six plugins from the registry's descriptors, θ₀, the data,
 * the oracle and the evaluator (README "Programmatic API"). Every plugin is created here once so that every
 * problem of the config (unknown plugins, bad options, θ₀ length, image sizes) is thrown at once as ConfigErrors.
 */
export function composeContainer(config: ExperimentConfig, registry: PluginRegistry, clean: CleanImages, noise: NoiseModel, preIssues: ConfigIssue[] = []): Container {
  const c = new Container();
  const [h, w] = clean.train.shape.slice(1, 3);
  const ctx: PluginContext = { imageShape: [h, w], seed: config.seed };
  c.bind(TOKENS.config).toConstantValue(config);
  c.bind(TOKENS.context).toConstantValue(ctx);
  bindPlugins(c, config, registry, ctx);
  bindDerived(c, config, clean, noise);
  const issues = [...preIssues];
  collectIssues(issues, 'oracle.name', () => bindOracle(c, config));
  validate(c, config, clean, issues);
  if (issues.length) {
    tf.dispose([clean.train, ...(clean.test ? [clean.test] : [])]);
    throw new ConfigErrors(issues);
  }
  return c;
}
