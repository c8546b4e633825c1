/**
 * {@include ../README.md}
 *
 * @module @bilevel/regularizers-tv
 */
import { bindPlugins, ContainerModule, definePlugin, z, type PluginDescriptor } from '@bilevel/core';
import { AnisotropicTV } from './anisotropic.js';
import { IsotropicTV } from './isotropic.js';

export { AnisotropicTV, IsotropicTV };
export { FiniteDifferences } from './differences.js';
export { fusedTvGrad, TV_GRAD_KERNEL } from './fused.js';

export const tvPlugins: PluginDescriptor<'regularizer'>[] = [
  definePlugin({
    kind: 'regularizer', name: 'tv', parameterCount: 2,
    description: 'smoothed anisotropic TV, MAID reference: ½e^{θ₀} Σ √((Dx)² + e^{2θ₁}); θ₀ = (−5, −5)',
    schema: z.strictObject({}),
    create: () => new AnisotropicTV(),
  }),
  definePlugin({
    kind: 'regularizer', name: 'tv-isotropic', parameterCount: 2,
    description: 'smoothed isotropic TV: ½e^{θ₀} Σ √(|∇x|² + e^{2θ₁})',
    schema: z.strictObject({}),
    create: () => new IsotropicTV(),
  }),
];

/** Registers the TV regularizers. */
export const tvModule = new ContainerModule((bind) => bindPlugins(bind, tvPlugins));
