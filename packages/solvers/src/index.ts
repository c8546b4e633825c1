import { bindPlugins, ContainerModule, numberOption, rejectUnknownOptions, type PluginDescriptor } from '@bilevel/core';
import { ConjugateGradient } from './cg.js';
import { Fista, FISTA_DEFAULTS, newtonCg } from './fista.js';
import { NEWTON_DEFAULTS, newtonSteps } from './newton-cg.js';

export { ConjugateGradient, Fista, FISTA_DEFAULTS, NEWTON_DEFAULTS, newtonCg, newtonSteps };
export type { FistaOptions } from './fista.js';
export type { NewtonOptions, NewtonRun } from './newton-cg.js';
export type { CgOptions } from './cg.js';

/** The options FISTA and newton-cg share. */
function fistaOptions(o: Record<string, unknown>, path: string) {
  return {
    maxIterations: numberOption(o, 'maxIterations', FISTA_DEFAULTS.maxIterations, path, { min: 1, integer: true }),
    stallWindow: numberOption(o, 'stallWindow', FISTA_DEFAULTS.stallWindow, path, { min: 1, integer: true }),
  };
}

export const solverPlugins: PluginDescriptor[] = [
  {
    kind: 'lowerSolver', name: 'fista',
    description: 'FISTA for strongly convex h, stopped on the certificate ‖∇ₓh‖/μ ≤ ε',
    options: { maxIterations: 'safety cap (reported)', stallWindow: 'iterations without progress before the float32 floor is declared', restart: '1 = adaptive restart (default), 0 = off' },
    create: (o, _ctx, path) => {
      rejectUnknownOptions(o, ['maxIterations', 'stallWindow', 'restart'], path);
      return new Fista({ ...fistaOptions(o, path), restart: numberOption(o, 'restart', 1, path, { min: 0, max: 1, integer: true }) === 1 });
    },
  },
  {
    kind: 'lowerSolver', name: 'newton-cg',
    description: 'FISTA with inexact Newton steps (CG directions), tried at once and again after each tenfold decrease of ‖∇ₓh‖ (backing off after failed tries), kept while each halves ‖∇ₓh‖; stopped on ‖∇ₓh‖/μ ≤ ε. Needs a twice-differentiable h; its Hessian-vector products count as lower-level iterations',
    options: { maxIterations: 'safety cap on gradients + Hessian-vector products (reported)', stallWindow: 'FISTA iterations without progress before the float32 floor is declared', forcing: `CG relative residual η per Newton direction (default ${NEWTON_DEFAULTS.forcing})`, cgCap: `most CG iterations per Newton direction (default ${NEWTON_DEFAULTS.cgCap})` },
    create: (o, _ctx, path) => {
      rejectUnknownOptions(o, ['maxIterations', 'stallWindow', 'forcing', 'cgCap'], path);
      return newtonCg({
        ...fistaOptions(o, path),
        forcing: numberOption(o, 'forcing', NEWTON_DEFAULTS.forcing, path, { min: 1e-6, max: 0.9 }),
        cgCap: numberOption(o, 'cgCap', NEWTON_DEFAULTS.cgCap, path, { min: 1, integer: true }),
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

/** Registers FISTA, Newton-CG and CG. */
export const solversModule = new ContainerModule((bind) => bindPlugins(bind, solverPlugins));
