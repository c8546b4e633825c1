/**
 * {@include ../README.md}
 *
 * @module @bilevel/regularizers-icnn
 */
import { addOptionIssue, bindPlugins, ContainerModule, definePlugin, z, type PluginDescriptor } from '@bilevel/core';
import { convOptionsShape } from '@bilevel/convkit';
import { Icnn, ICNN_DEFAULTS, icnnParameterCount, pairWeightsProblem } from './icnn.js';

export { Icnn, ICNN_DEFAULTS, icnnParameterCount, type IcnnOptions } from './icnn.js';
export { tvStart, type TvStartOptions } from './tv-start.js';

/** The options of "icnn", declared once (defaults ICNN_DEFAULTS). */
export const icnnOptions = z.strictObject({
  ...convOptionsShape,
  channels: z.array(z.number().int().min(1).max(1024)).min(1).default(() => [...ICNN_DEFAULTS.channels])
    .describe('channels per layer, the last included, each a whole number in [1, 1024]'),
  size: z.number().int().min(1).max(31).default(ICNN_DEFAULTS.size).describe('size s of the s×s input convolutions V_l'),
  leak: z.number().min(0).max(1).default(ICNN_DEFAULTS.leak).describe('leak λ of σ(t) = λt + (1 − λ)(t + √(t² + ε²))/2'),
  smoothing: z.number().gt(0).default(ICNN_DEFAULTS.smoothing).describe('corner width ε of σ'),
  gamma: z.number().gt(0).default(ICNN_DEFAULTS.gamma).describe('initial (or fixed) γ of γ/2‖x‖²'),
  learnGamma: z.number().int().min(0).max(1).default(ICNN_DEFAULTS.learnGamma ? 1 : 0).describe('1 learns log γ, 0 keeps γ fixed'),
  logScale: z.number().default(ICNN_DEFAULTS.logScale).describe('initial log α of the output scale'),
  init: z.enum(['paired', 'derivatives', 'xavier']).default(ICNN_DEFAULTS.init)
    .describe("'paired' (± pairs of first-layer filters, a FoE-like start), 'derivatives' or 'xavier'"),
  initGain: z.number().gt(0).default(ICNN_DEFAULTS.initGain).describe('gain k of the first-layer initial filters; σ\'s corner on a unit filter response is then ε/k'),
  pairWeights: z.array(z.number().gt(0)).default(() => [...ICNN_DEFAULTS.pairWeights])
    .describe("'derivatives' start: layer-2 weight W⁺ of each ± filter pair (horizontal, vertical, diagonals, …); empty: 1/C₁ each"),
}).superRefine((o, ctx) => {
  const bad = pairWeightsProblem(o);
  if (bad) addOptionIssue(ctx, 'pairWeights', bad.problem, bad.fix);
});

export const icnnPlugins: PluginDescriptor<'regularizer'>[] = [
  definePlugin({
    kind: 'regularizer',
    name: 'icnn',
    parameterCount: icnnParameterCount(),
    description: 'convolutional input-convex network: α Σ z_L + γ/2‖x‖², z_l = σ(W_l⁺ z_{l−1} + V_l x + b_l), W⁺ ≥ 0 (softplus); 2 layers [32, 4], 7×7 (1930 parameters)',
    schema: icnnOptions,
    create: (o) => new Icnn({ ...o, learnGamma: o.learnGamma === 1 }),
  }),
];

/** Registers the ICNN regularizer ("icnn"). */
export const icnnModule = new ContainerModule((bind) => bindPlugins(bind, icnnPlugins));
