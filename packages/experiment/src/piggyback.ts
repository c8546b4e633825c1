import type { Container } from 'inversify';
import { BilevelError, ConfigError, parseOptions, TOKENS, z, type ImageBatch, type ParameterLayout, type Regularizer } from '@bilevel/core';
import { ConvOperatorFamily, PIGGYBACK_DEFAULTS, PiggybackOracle, type PiggybackOptions } from '@bilevel/oracles';
import type { ExperimentConfig } from './config.js';
import type { ImagePairs, SplitEvaluator } from './spec.js';

const pdhgShape = {
  huber: z.number().min(0).optional().meta({ default: PIGGYBACK_DEFAULTS.huber }).describe('ε_H of the Huber-smoothed TV'),
  maxIterations: z.number().int().min(0).optional().meta({ default: PIGGYBACK_DEFAULTS.maxIterations }).describe('PDHG safety cap per call'),
  checkEvery: z.number().int().min(0).optional().meta({ default: PIGGYBACK_DEFAULTS.checkEvery }).describe('certificates every k iterations'),
  stallWindow: z.number().int().min(0).optional().meta({ default: PIGGYBACK_DEFAULTS.stallWindow }).describe('iterations without a smaller certificate before the float32 floor'),
  adjointLipschitz: z.number().min(0).optional().meta({ default: PIGGYBACK_DEFAULTS.adjointLipschitz }).describe('Lipschitz estimate of the adjoint solution in ω (0: 1/n)'),
  dualRatio: z.number().min(0).optional().meta({ default: PIGGYBACK_DEFAULTS.dualRatio }).describe('the dual iterate is required to ‖y − ŷ‖ ≤ dualRatio·ε'),
};
const theta0 = z.array(z.number()).optional().describe('initial θ (default: log 0.05 for standard, the stencil init for learned)');

/**
 * `"oracle": { "name": "piggyback", "options": … }` (docs/optimizers.md), declared once: the standard
 * discretization (K = e^θ · forward differences, 1 parameter) or a learned one (s×s filters in C groups of 2).
 */
export const PIGGYBACK_SCHEMA = z.discriminatedUnion('discretization', [
  z.strictObject({
    discretization: z.literal('standard').default('standard').describe('"standard" (K = e^θ · forward differences, 1 parameter) | "learned" (s×s filters in C groups of 2, θ = taps / tapScale)'),
    theta0, ...pdhgShape,
  }),
  z.strictObject({
    discretization: z.literal('learned'),
    filterSize: z.number().int().min(2).default(3).describe('learned: filter size s'),
    groups: z.number().int().min(1).default(4).describe('learned: groups C'),
    tapScale: z.number().gt(0).default(0.05).describe('learned: c in W = c·(θ − mean) (e.g. the learned standard weight e^θ*)'),
    init: z.enum(['shifted', 'diverse']).default('shifted').describe('learned: shifted | diverse stencils in groups ≥ 1'),
    share: z.number().min(0).default(0.05).describe('learned: weight of groups ≥ 1'),
    noise: z.number().min(0).default(0.1).describe('learned: seeded init noise amplitude × share'),
    theta0, ...pdhgShape,
  }),
]);
type PiggybackConfig = z.output<typeof PIGGYBACK_SCHEMA>;

/** The discretization family and θ₀ of the options. */
function family(o: PiggybackConfig, seed: number): { family: ConvOperatorFamily; theta0: Float64Array } {
  if (o.discretization === 'standard') return { family: ConvOperatorFamily.forwardDifferences(), theta0: Float64Array.from(o.theta0 ?? [Math.log(0.05)]) };
  const f = new ConvOperatorFamily('learned', o.filterSize, o.groups, undefined, o.tapScale);
  return { family: f, theta0: o.theta0 ? Float64Array.from(o.theta0) : f.initialLearnedTheta(o.noise, seed, o.share, o.init) };
}

/** θ's layout: the log-weight of the standard discretization, or the filter taps [s, s, 1, 2C] of the learned one. */
export function piggybackLayout(f: ConvOperatorFamily): ParameterLayout {
  if (f.kind === 'scaled') return { size: 1, blocks: [{ name: 'logWeight', offset: 0, shape: [1] }] };
  return { size: f.parameterCount, blocks: [{ name: 'filters', offset: 0, shape: [f.size, f.size, 1, 2 * f.groups] }] };
}

/**
 * What stands for the regularizer in ExperimentSpec with the piggyback oracle: R(x) = f(K_θ x) (Huber TV), its layout and
 * θ₀. The saddle-point oracle never asks it for derivatives; a smooth lower-level solver that does is told so.
 */
function parameterView(f: ConvOperatorFamily, theta0: Float64Array): Regularizer {
  const refuse = (): never => {
    throw new BilevelError('the piggyback oracle\'s regularizer f(K_θ x) is solved in saddle form only', 'use the experiment\'s oracle (TOKENS.oracle) and evaluator, not a LowerLevelProblem, with oracle "piggyback"');
  };
  return {
    name: f.kind === 'scaled' ? 'piggyback-tv' : 'piggyback-tv-learned', layout: piggybackLayout(f),
    initialTheta: () => Float32Array.from(theta0), value: refuse, gradX: refuse, hvpX: refuse, mixedVjp: refuse, curvature: refuse,
  };
}

/** PiggybackOracle options from the config: the PDHG fields given (the oracle fills in the others). */
function pdhgOptions(o: PiggybackConfig): Partial<PiggybackOptions> {
  const keys = Object.keys(pdhgShape) as (keyof typeof pdhgShape)[];
  return Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]]));
}

/** Reconstructs a split by PDHG on its saddle problem at θ, from the noisy images. */
function piggybackEvaluator(f: ConvOperatorFamily, options: Partial<PiggybackOptions>): SplitEvaluator {
  return {
    async solve(pairs: ImagePairs, theta: Float64Array, tolerance: number) {
      const oracle = new PiggybackOracle(f, pairs.measurement as ImageBatch, pairs.clean, options);
      try {
        const ev = await oracle.evaluate(theta, tolerance);
        const x = await oracle.reconstruction(ev);
        oracle.release(ev);
        return { x, iterations: ev.lower.iterations };
      } finally {
        await oracle.dispose();
      }
    },
  };
}

/**
 * Binds the piggyback oracle (on the training split), its evaluator, θ₀ and the regularizer's place (parameterView).
 * Denoising only: the saddle problem has g(x) = ½‖x − z‖², so the operator must be the identity and the data term l2.
 */
export function bindPiggyback(c: Container, config: ExperimentConfig): void {
  const path = 'oracle.options';
  const o = parseOptions(PIGGYBACK_SCHEMA, config.oracle.options, path);
  if (config.regularizer) throw new ConfigError('regularizer', 'not used by the piggyback oracle (K_θ is what it learns)', 'remove it; set θ₀ with oracle.options.theta0');
  if (config.operator.name !== 'identity' || config.fidelity.name !== 'l2') throw new ConfigError('operator', 'the piggyback oracle solves denoising (identity operator, l2 data term)', 'remove operator and fidelity from the config');
  const { family: f, theta0 } = family(o, config.seed);
  if (theta0.length !== f.parameterCount) throw new ConfigError(`${path}.theta0`, `has ${theta0.length} entries but the discretization has ${f.parameterCount} parameters`, 'fix its length or omit it');
  const options = pdhgOptions(o);
  c.bind(TOKENS.regularizer).toConstantValue(parameterView(f, theta0));
  c.rebind(TOKENS.theta0).toConstantValue(Float64Array.from(theta0));
  c.bind(TOKENS.evaluator).toConstantValue(piggybackEvaluator(f, options));
  c.bind(TOKENS.oracle).toDynamicValue(async (ctx) => {
    const train = await ctx.container.getAsync<ImagePairs>(TOKENS.train);
    return new PiggybackOracle(f, train.measurement as ImageBatch, train.clean, options);
  });
}
