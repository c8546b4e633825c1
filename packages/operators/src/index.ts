import { bindPlugins, ContainerModule, rejectUnknownOptions, type PluginDescriptor } from '@bilevel/core';
import { IdentityOperator } from './identity.js';
import { L2Fidelity } from './l2.js';

export { IdentityOperator, L2Fidelity };

export const operatorPlugins: PluginDescriptor[] = [
  {
    kind: 'operator', name: 'identity', description: 'A = I (denoising)',
    create: (o, ctx, path) => (rejectUnknownOptions(o, [], path), new IdentityOperator(ctx.imageShape)),
  },
  {
    kind: 'fidelity', name: 'l2', description: 'D(Ax, y) = ½‖Ax − y‖²',
    create: (o, _ctx, path) => (rejectUnknownOptions(o, [], path), new L2Fidelity()),
  },
];

/** Registers the forward operators and data terms. */
export const operatorsModule = new ContainerModule((bind) => bindPlugins(bind, operatorPlugins));
