/**
 * {@include ../README.md}
 *
 * @module @bilevel/regularizers-foe
 */
import { bindPlugins, ContainerModule, definePlugin, z, type PluginDescriptor } from '@bilevel/core';
import { boundaryOption, engineOption } from '@bilevel/convkit';
import { FieldsOfExperts, FOE_DEFAULTS, foeParameterCount } from './foe.js';

export { FieldsOfExperts, FOE_DEFAULTS, foeParameterCount, type FoeOptions } from './foe.js';

/** The options of "foe", declared once (defaults FOE_DEFAULTS). */
export const foeOptions = z.strictObject({
  filters: z.number().int().min(1).max(512).default(FOE_DEFAULTS.filters).describe('number of filters K'),
  size: z.number().int().min(2).max(31).default(FOE_DEFAULTS.size).describe('filter size s, s×s taps'),
  zeroMean: z.number().int().min(0).max(1).default(FOE_DEFAULTS.zeroMean ? 1 : 0).describe('1 keeps every filter zero-mean by projection, 0 does not'),
  engine: engineOption,
  boundary: boundaryOption(FOE_DEFAULTS.boundary, "'reflect' (the MAID reference: mirror-extended image, one window per pixel), 'symmetric' or 'valid'"),
  init: z.enum(['xavier', 'dct', 'derivatives']).default(FOE_DEFAULTS.init)
    .describe("filter initialisation: 'xavier' (the reference), 'dct' (lowest non-constant DCT atoms) or 'derivatives' (finite differences)"),
  initScale: z.number().default(FOE_DEFAULTS.initScale).describe('initial θ₀, log of the global weight'),
  initWeight: z.number().default(FOE_DEFAULTS.initWeight).describe('initial θ_1..θ_K, log weights'),
  initSmoothing: z.number().default(FOE_DEFAULTS.initSmoothing).describe('initial θ_{K+1}..θ_{2K}, log smoothing'),
  filterScale: z.number().gt(0).default(FOE_DEFAULTS.filterScale).describe('filters are filterScale·θ_filters (1 is the reference; < 1 preconditions the filter block)'),
});

export const foePlugins: PluginDescriptor<'regularizer'>[] = [
  definePlugin({
    kind: 'regularizer',
    name: 'foe',
    parameterCount: foeParameterCount(FOE_DEFAULTS.filters, FOE_DEFAULTS.size),
    description: 'Fields of Experts, MAID reference: e^{θ₀} Σ_k e^{θ_k} Σ √((c_k ∗ x)² + e^{2θ_{K+k}}); 48 filters 7×7 (2449 parameters)',
    schema: foeOptions,
    create: (o) => new FieldsOfExperts({ ...o, zeroMean: o.zeroMean === 1 }),
  }),
];

/** Registers the Fields of Experts regularizer ("foe"). */
export const foeModule = new ContainerModule((bind) => bindPlugins(bind, foePlugins));
