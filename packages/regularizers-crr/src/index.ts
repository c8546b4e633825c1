/**
 * {@include ../README.md}
 *
 * @module @bilevel/regularizers-crr
 */
import { addOptionIssue, bindPlugins, ContainerModule, definePlugin, z, type PluginDescriptor } from '@bilevel/core';
import { convOptionsShape } from '@bilevel/convkit';
import { ConvexRidge, CRR_DEFAULTS, crrParameterCount } from './crr.js';

export { compositeKernels, ConvexRidge, CRR_DEFAULTS, crrParameterCount, type CrrOptions } from './crr.js';
export { evaluateSpline, splineTables, type SplineKind } from './spline.js';

/** The options of "crr", declared once (defaults CRR_DEFAULTS). */
export const crrOptions = z.strictObject({
  ...convOptionsShape,
  channels: z.array(z.number().int().min(1).max(512)).min(1).default(() => [...CRR_DEFAULTS.channels])
    .describe('output channels of each convolution of W, each a whole number in [1, 512]'),
  size: z.number().int().min(1).max(15).default(CRR_DEFAULTS.size).describe('kernel size of every convolution'),
  knots: z.number().int().min(3).max(1001).default(CRR_DEFAULTS.knots).describe('odd number of spline knots'),
  range: z.number().gt(0).default(CRR_DEFAULTS.range).describe('knots uniform on [−range, range], σ constant beyond'),
  logStrength: z.number().default(CRR_DEFAULTS.logStrength).describe('initial log λ'),
  init: z.enum(['xavier', 'derivatives']).default(CRR_DEFAULTS.init).describe("first-layer filters: 'xavier' or 'derivatives' (finite differences)"),
  activation: z.enum(['smooth', 'linear']).default(CRR_DEFAULTS.activation)
    .describe("'smooth' (the spline averaged over one knot spacing, C¹, Lipschitz Hessian) or 'linear' (the paper's spline; Hessian a.e.)"),
}).superRefine((o, ctx) => {
  const k = o.knots;
  if (Number.isInteger(k) && k >= 3 && k <= 1001 && k % 2 === 0) addOptionIssue(ctx, 'knots', `must be odd (σ(0) = 0 sits on the middle knot), got ${k}`, `use ${k + 1}`);
});

export const crrPlugins: PluginDescriptor<'regularizer'>[] = [
  definePlugin({
    kind: 'regularizer',
    name: 'crr',
    parameterCount: crrParameterCount(),
    description: 'convex ridge regularizer: λ Σ ψ_c((Wx)_c), ∇R = λWᵀσ(Wx), W zero-mean 1→8→32 7×7 multi-convolution (‖W‖ = 1 at θ₀), σ monotone 21-knot linear splines',
    schema: crrOptions,
    create: (o) => new ConvexRidge(o),
  }),
];

/** Registers the convex ridge regularizer ("crr"). */
export const crrModule = new ContainerModule((bind) => bindPlugins(bind, crrPlugins));
