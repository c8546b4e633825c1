import { bindPlugins, choiceOption, ContainerModule, numberOption, rejectUnknownOptions, type PluginDescriptor } from '@bilevel/core';
import { ENGINE_OPTION_DOC } from '@bilevel/convkit';
import { FieldsOfExperts, FOE_DEFAULTS, foeParameterCount } from './foe.js';

export { FieldsOfExperts, FOE_DEFAULTS, foeParameterCount, type FoeOptions } from './foe.js';

export const foePlugins: PluginDescriptor<'regularizer'>[] = [
  {
    kind: 'regularizer',
    name: 'foe',
    parameterCount: foeParameterCount(FOE_DEFAULTS.filters, FOE_DEFAULTS.size),
    description: 'Fields of Experts, MAID reference: e^{θ₀} Σ_k e^{θ_k} Σ √((c_k ∗ x)² + e^{2θ_{K+k}}); 48 filters 7×7 (2449 parameters)',
    options: {
      filters: 'number of filters K (default 48)',
      size: 'filter size s, s×s taps (default 7)',
      zeroMean: '1 keeps every filter zero-mean by projection, 0 does not (default 0)',
      engine: ENGINE_OPTION_DOC,
      boundary: "'reflect' (default, the MAID reference: mirror-extended image, one window per pixel), 'symmetric' or 'valid'",
      init: "filter initialisation: 'xavier' (default, the reference), 'dct' (lowest non-constant DCT atoms) or 'derivatives' (finite differences)",
      initScale: 'initial θ₀, log of the global weight (default −3)',
      initWeight: 'initial θ_1..θ_K, log weights (default −3)',
      initSmoothing: 'initial θ_{K+1}..θ_{2K}, log smoothing (default −3.5)',
      filterScale: 'filters are filterScale·θ_filters (default 1, the reference; < 1 preconditions the filter block)',
    },
    create: (o, _ctx, path) => {
      rejectUnknownOptions(o, ['filters', 'size', 'zeroMean', 'engine', 'boundary', 'init', 'initScale', 'initWeight', 'initSmoothing', 'filterScale'], path);
      return new FieldsOfExperts({
        filters: numberOption(o, 'filters', FOE_DEFAULTS.filters, path, { integer: true, min: 1, max: 512 }),
        size: numberOption(o, 'size', FOE_DEFAULTS.size, path, { integer: true, min: 2, max: 31 }),
        zeroMean: numberOption(o, 'zeroMean', 0, path, { integer: true, min: 0, max: 1 }) === 1,
        engine: choiceOption(o, 'engine', 'auto', ['auto', 'patches', 'native'] as const, path),
        boundary: choiceOption(o, 'boundary', FOE_DEFAULTS.boundary, ['reflect', 'symmetric', 'valid'] as const, path),
        init: choiceOption(o, 'init', FOE_DEFAULTS.init, ['xavier', 'dct', 'derivatives'] as const, path),
        initScale: numberOption(o, 'initScale', FOE_DEFAULTS.initScale, path),
        initWeight: numberOption(o, 'initWeight', FOE_DEFAULTS.initWeight, path),
        initSmoothing: numberOption(o, 'initSmoothing', FOE_DEFAULTS.initSmoothing, path),
        filterScale: numberOption(o, 'filterScale', FOE_DEFAULTS.filterScale, path, { min: 0, exclusiveMin: true }),
      });
    },
  },
];

/** Registers the Fields of Experts regularizer ("foe"). */
export const foeModule = new ContainerModule((bind) => bindPlugins(bind, foePlugins));
