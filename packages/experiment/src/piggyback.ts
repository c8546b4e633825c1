import type { Container } from 'inversify';
import {
  BilevelError, ConfigError, choiceOption, numberArrayOption, numberOption, rejectUnknownOptions, TOKENS,
  type ImageBatch, type Options, type ParameterLayout, type Regularizer,
} from '@bilevel/core';
import { ConvOperatorFamily, PiggybackOracle, type PiggybackOptions } from '@bilevel/oracles';
import type { ExperimentConfig } from './config.js';
import type { ImagePairs, SplitEvaluator } from './spec.js';

/** `"oracle": { "name": "piggyback", "options": … }` (README "Inexact piggyback"). */
export const PIGGYBACK_OPTION_DOCS: Readonly<Record<string, string>> = {
  discretization: 'standard (K = e^θ · forward differences, 1 parameter) | learned (s×s filters in C groups of 2, θ = taps / tapScale)',
  filterSize: 'learned: filter size s (3)', groups: 'learned: groups C (4)', tapScale: 'learned: c in W = c·(θ − mean) (0.05, e.g. the learned standard weight e^θ*)',
  init: 'learned: shifted | diverse stencils in groups ≥ 1 (shifted)', share: 'learned: weight of groups ≥ 1 (0.05)', noise: 'learned: seeded init noise amplitude × share (0.1)',
  theta0: 'initial θ (default: log 0.05 for standard, the stencil init for learned)',
  huber: 'ε_H of the Huber-smoothed TV (1e-3)', maxIterations: 'PDHG safety cap per call (20000)', checkEvery: 'certificates every k iterations (8)',
  stallWindow: 'iterations without a smaller certificate before the float32 floor (400)', adjointLipschitz: 'Lipschitz estimate of the adjoint solution in ω (0: 1/n)',
  dualRatio: 'the dual iterate is required to ‖y − ŷ‖ ≤ dualRatio·ε (10)',
};
const PDHG_KEYS = ['huber', 'maxIterations', 'checkEvery', 'stallWindow', 'adjointLipschitz', 'dualRatio'] as const;

/** The discretization family and θ₀ of the options. */
function family(o: Options, seed: number, path: string): { family: ConvOperatorFamily; theta0: Float64Array } {
  const kind = choiceOption(o, 'discretization', 'standard', ['standard', 'learned'] as const, path);
  const given = numberArrayOption(o, 'theta0', path);
  if (kind === 'standard') {
    for (const k of ['filterSize', 'groups', 'tapScale', 'init', 'share', 'noise']) {
      if (o[k] !== undefined) throw new ConfigError(`${path}.${k}`, 'only used by discretization "learned"', 'remove it or set discretization: "learned"');
    }
    return { family: ConvOperatorFamily.forwardDifferences(), theta0: Float64Array.from(given ?? [Math.log(0.05)]) };
  }
  const size = numberOption(o, 'filterSize', 3, path, { min: 2, integer: true });
  const groups = numberOption(o, 'groups', 4, path, { min: 1, integer: true });
  const f = new ConvOperatorFamily('learned', size, groups, undefined, numberOption(o, 'tapScale', 0.05, path, { min: 0, exclusiveMin: true }));
  const init = choiceOption(o, 'init', 'shifted', ['shifted', 'diverse'] as const, path);
  const theta0 = given ? Float64Array.from(given) : f.initialLearnedTheta(numberOption(o, 'noise', 0.1, path, { min: 0 }), seed, numberOption(o, 'share', 0.05, path, { min: 0 }), init);
  return { family: f, theta0 };
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

/** PiggybackOracle options from the config. */
function pdhgOptions(o: Options, path: string): Partial<PiggybackOptions> {
  const out: Partial<Record<(typeof PDHG_KEYS)[number], number>> = {};
  for (const k of PDHG_KEYS) if (o[k] !== undefined) out[k] = numberOption(o, k, 0, path, { min: 0, integer: ['maxIterations', 'checkEvery', 'stallWindow'].includes(k) });
  return out;
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
  const o = config.oracle.options;
  rejectUnknownOptions(o, Object.keys(PIGGYBACK_OPTION_DOCS), path);
  if (config.regularizer) throw new ConfigError('regularizer', 'not used by the piggyback oracle (K_θ is what it learns)', 'remove it; set θ₀ with oracle.options.theta0');
  if (config.operator.name !== 'identity' || config.fidelity.name !== 'l2') throw new ConfigError('operator', 'the piggyback oracle solves denoising (identity operator, l2 data term)', 'remove operator and fidelity from the config');
  const { family: f, theta0 } = family(o, config.seed, path);
  if (theta0.length !== f.parameterCount) throw new ConfigError(`${path}.theta0`, `has ${theta0.length} entries but the discretization has ${f.parameterCount} parameters`, 'fix its length or omit it');
  const options = pdhgOptions(o, path);
  c.bind(TOKENS.regularizer).toConstantValue(parameterView(f, theta0));
  c.rebind(TOKENS.theta0).toConstantValue(Float64Array.from(theta0));
  c.bind(TOKENS.evaluator).toConstantValue(piggybackEvaluator(f, options));
  c.bind(TOKENS.oracle).toDynamicValue(async (ctx) => {
    const train = await ctx.container.getAsync<ImagePairs>(TOKENS.train);
    return new PiggybackOracle(f, train.measurement as ImageBatch, train.clean, options);
  });
}
