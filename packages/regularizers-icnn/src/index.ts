import { bindPlugins, choiceOption, ContainerModule, numberArrayOption, numberOption, rejectUnknownOptions, ConfigError, type PluginDescriptor } from '@bilevel/core';
import { ENGINE_OPTION_DOC } from '@bilevel/convkit';
import { Icnn, ICNN_DEFAULTS, icnnParameterCount } from './icnn.js';

export { Icnn, ICNN_DEFAULTS, icnnParameterCount, type IcnnOptions } from './icnn.js';

const OPTIONS = ['engine', 'boundary', 'channels', 'size', 'leak', 'smoothing', 'gamma', 'learnGamma', 'logScale', 'init', 'initGain'] as const;

export const icnnPlugins: PluginDescriptor<'regularizer'>[] = [
  {
    kind: 'regularizer',
    name: 'icnn',
    parameterCount: icnnParameterCount(),
    description: 'convolutional input-convex network: α Σ z_L + γ/2‖x‖², z_l = σ(W_l⁺ z_{l−1} + V_l x + b_l), W⁺ ≥ 0 (softplus); 2 layers [32, 4], 7×7 (1930 parameters)',
    options: {
      engine: ENGINE_OPTION_DOC,
      boundary: "'reflect' (default: mirror-extended image, one window per pixel), 'symmetric' or 'valid'",
      channels: 'channels per layer, the last included (default [32, 4])',
      size: 'size s of the s×s input convolutions V_l (default 7)',
      leak: 'leak λ of σ(t) = λt + (1 − λ)(t + √(t² + ε²))/2 (default 0.2)',
      smoothing: 'corner width ε of σ (default 0.05)',
      gamma: 'initial (or fixed) γ of γ/2‖x‖² (default 1e-3)',
      learnGamma: '1 learns log γ (default), 0 keeps γ fixed',
      logScale: 'initial log α of the output scale (default 0)',
      init: "'paired' (default: ± pairs of first-layer filters, a FoE-like start), 'derivatives' or 'xavier'",
      initGain: 'gain k of the first-layer initial filters (default 1); σ\'s corner on a unit filter response is then ε/k',
    },
    create: (o, _ctx, path) => {
      rejectUnknownOptions(o, OPTIONS, path);
      const channels = numberArrayOption(o, 'channels', path) ?? ICNN_DEFAULTS.channels;
      if (channels.length === 0 || channels.some((c) => !Number.isInteger(c) || c < 1 || c > 1024)) {
        throw new ConfigError(`${path}.channels`, `expected a non-empty list of whole numbers in [1, 1024], got ${JSON.stringify(channels)}`, 'e.g. [32, 4]');
      }
      return new Icnn({
        channels,
        size: numberOption(o, 'size', ICNN_DEFAULTS.size, path, { integer: true, min: 1, max: 31 }),
        leak: numberOption(o, 'leak', ICNN_DEFAULTS.leak, path, { min: 0, max: 1 }),
        smoothing: numberOption(o, 'smoothing', ICNN_DEFAULTS.smoothing, path, { min: 0, exclusiveMin: true }),
        gamma: numberOption(o, 'gamma', ICNN_DEFAULTS.gamma, path, { min: 0, exclusiveMin: true }),
        learnGamma: numberOption(o, 'learnGamma', 1, path, { integer: true, min: 0, max: 1 }) === 1,
        logScale: numberOption(o, 'logScale', ICNN_DEFAULTS.logScale, path),
        init: choiceOption(o, 'init', ICNN_DEFAULTS.init, ['paired', 'derivatives', 'xavier'] as const, path),
        initGain: numberOption(o, 'initGain', ICNN_DEFAULTS.initGain, path, { min: 0, exclusiveMin: true }),
        engine: choiceOption(o, 'engine', 'auto', ['auto', 'patches', 'native'] as const, path),
        boundary: choiceOption(o, 'boundary', 'reflect', ['reflect', 'symmetric', 'valid'] as const, path),
      });
    },
  },
];

/** Registers the ICNN regularizer ("icnn"). */
export const icnnModule = new ContainerModule((bind) => bindPlugins(bind, icnnPlugins));
