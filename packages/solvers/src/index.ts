import { bindPlugins, ContainerModule, numberOption, rejectUnknownOptions, type PluginDescriptor } from '@bilevel/core';
import { ConjugateGradient } from './cg.js';
import { Fista, FISTA_DEFAULTS } from './fista.js';

export { ConjugateGradient, Fista, FISTA_DEFAULTS };
export type { FistaOptions } from './fista.js';
export type { CgOptions } from './cg.js';

export const solverPlugins: PluginDescriptor[] = [
  {
    kind: 'lowerSolver', name: 'fista',
    description: 'FISTA for strongly convex h, stopped on the certificate ‖∇ₓh‖/μ ≤ ε',
    options: { maxIterations: 'safety cap (reported)', stallWindow: 'iterations without progress before the float32 floor is declared', restart: '1 = adaptive restart (default), 0 = off' },
    create: (o, _ctx, path) => {
      rejectUnknownOptions(o, ['maxIterations', 'stallWindow', 'restart'], path);
      return new Fista({
        maxIterations: numberOption(o, 'maxIterations', FISTA_DEFAULTS.maxIterations, path, { min: 1, integer: true }),
        stallWindow: numberOption(o, 'stallWindow', FISTA_DEFAULTS.stallWindow, path, { min: 1, integer: true }),
        restart: numberOption(o, 'restart', 1, path, { min: 0, max: 1, integer: true }) === 1,
      });
    },
  },
  {
    kind: 'linearSolver', name: 'cg',
    description: 'conjugate gradients with absolute residual tolerance δ',
    options: { maxIterations: 'safety cap (reported)' },
    create: (o, _ctx, path) => {
      rejectUnknownOptions(o, ['maxIterations'], path);
      return new ConjugateGradient({ maxIterations: numberOption(o, 'maxIterations', 2000, path, { min: 1, integer: true }) });
    },
  },
];

/** Registers FISTA and CG. */
export const solversModule = new ContainerModule((bind) => bindPlugins(bind, solverPlugins));
