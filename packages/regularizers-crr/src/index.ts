import { bindPlugins, choiceOption, ConfigError, ContainerModule, numberArrayOption, numberOption, rejectUnknownOptions, type PluginDescriptor } from '@bilevel/core';
import { ENGINE_OPTION_DOC } from '@bilevel/convkit';
import { ConvexRidge, CRR_DEFAULTS, crrParameterCount } from './crr.js';

export { compositeKernels, ConvexRidge, CRR_DEFAULTS, crrParameterCount, type CrrOptions } from './crr.js';
export { evaluateSpline, splineTables, type SplineKind } from './spline.js';

const OPTIONS = ['engine', 'boundary', 'channels', 'size', 'knots', 'range', 'logStrength', 'activation', 'init'] as const;

export const crrPlugins: PluginDescriptor<'regularizer'>[] = [
  {
    kind: 'regularizer',
    name: 'crr',
    parameterCount: crrParameterCount(),
    description: 'convex ridge regularizer: λ Σ ψ_c((Wx)_c), ∇R = λWᵀσ(Wx), W zero-mean 1→8→32 7×7 multi-convolution (‖W‖ = 1 at θ₀), σ monotone 21-knot linear splines',
    options: {
      engine: ENGINE_OPTION_DOC,
      boundary: "'reflect' (default: mirror-extended image, one window per pixel), 'symmetric' or 'valid'",
      channels: 'output channels of each convolution of W (default [8, 32])',
      size: 'kernel size of every convolution (default 7)',
      knots: 'odd number of spline knots (default 21)',
      range: 'knots uniform on [−range, range], σ constant beyond (default 0.2)',
      logStrength: 'initial log λ (default 0)',
      init: "first-layer filters: 'xavier' (default) or 'derivatives' (finite differences)",
      activation: "'smooth' (default: the spline averaged over one knot spacing, C¹, Lipschitz Hessian) or 'linear' (the paper's spline; Hessian a.e.)",
    },
    create: (o, _ctx, path) => {
      rejectUnknownOptions(o, OPTIONS, path);
      const channels = numberArrayOption(o, 'channels', path) ?? CRR_DEFAULTS.channels;
      if (channels.length === 0 || channels.some((c) => !Number.isInteger(c) || c < 1 || c > 512)) {
        throw new ConfigError(`${path}.channels`, `expected a non-empty list of whole numbers in [1, 512], got ${JSON.stringify(channels)}`, 'e.g. [8, 32]');
      }
      const knots = numberOption(o, 'knots', CRR_DEFAULTS.knots, path, { integer: true, min: 3, max: 1001 });
      if (knots % 2 === 0) throw new ConfigError(`${path}.knots`, `must be odd (σ(0) = 0 sits on the middle knot), got ${knots}`, `use ${knots + 1}`);
      return new ConvexRidge({
        channels,
        size: numberOption(o, 'size', CRR_DEFAULTS.size, path, { integer: true, min: 1, max: 15 }),
        knots,
        range: numberOption(o, 'range', CRR_DEFAULTS.range, path, { min: 0, exclusiveMin: true }),
        logStrength: numberOption(o, 'logStrength', CRR_DEFAULTS.logStrength, path),
        init: choiceOption(o, 'init', CRR_DEFAULTS.init, ['xavier', 'derivatives'] as const, path),
        activation: choiceOption(o, 'activation', CRR_DEFAULTS.activation, ['smooth', 'linear'] as const, path),
        engine: choiceOption(o, 'engine', 'auto', ['auto', 'patches', 'native'] as const, path),
        boundary: choiceOption(o, 'boundary', 'reflect', ['reflect', 'symmetric', 'valid'] as const, path),
      });
    },
  },
];

/** Registers the convex ridge regularizer ("crr"). */
export const crrModule = new ContainerModule((bind) => bindPlugins(bind, crrPlugins));
