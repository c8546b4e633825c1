/**
 * {@include ../README.md}
 *
 * @module @bilevel/solvers
 */
import { bindPlugins, ContainerModule, definePlugin, z, type PluginDescriptor } from '@bilevel/core';
import { ConjugateGradient } from './cg.js';
import { Fista, FISTA_DEFAULTS, newtonCg } from './fista.js';
import { NEWTON_DEFAULTS, newtonSteps } from './newton-cg.js';

export { ConjugateGradient, Fista, FISTA_DEFAULTS, NEWTON_DEFAULTS, newtonCg, newtonSteps };
export type { FistaOptions } from './fista.js';
export type { NewtonOptions, NewtonRun } from './newton-cg.js';
export type { CgOptions } from './cg.js';

/** The options FISTA and newton-cg share. */
const fistaShape = {
  maxIterations: z.number().int().min(1).default(FISTA_DEFAULTS.maxIterations).describe('safety cap on gradient evaluations (reported, never the stopping rule)'),
  stallWindow: z.number().int().min(1).default(FISTA_DEFAULTS.stallWindow).describe('iterations without a new smallest ‖∇ₓh‖ before the float32 floor is declared'),
};

export const solverPlugins: PluginDescriptor[] = [
  definePlugin({
    kind: 'lowerSolver', name: 'fista',
    description: 'FISTA for strongly convex h, stopped on the certificate ‖∇ₓh‖/μ ≤ ε',
    schema: z.strictObject({ ...fistaShape, restart: z.number().int().min(0).max(1).default(1).describe('1 = adaptive restart of the momentum, 0 = off') }),
    create: (o) => new Fista({ maxIterations: o.maxIterations, stallWindow: o.stallWindow, restart: o.restart === 1 }),
  }),
  definePlugin({
    kind: 'lowerSolver', name: 'newton-cg',
    description: 'FISTA with inexact Newton steps (CG directions), tried at once and again after each tenfold decrease of ‖∇ₓh‖ (backing off after failed tries), kept while each halves ‖∇ₓh‖; stopped on ‖∇ₓh‖/μ ≤ ε. Needs a twice-differentiable h; its Hessian-vector products count as lower-level iterations',
    schema: z.strictObject({
      ...fistaShape,
      forcing: z.number().min(1e-6).max(0.9).default(NEWTON_DEFAULTS.forcing).describe('CG relative residual η per Newton direction'),
      cgCap: z.number().int().min(1).default(NEWTON_DEFAULTS.cgCap).describe('most CG iterations per Newton direction'),
    }),
    create: (o) => newtonCg(o),
  }),
  definePlugin({
    kind: 'linearSolver', name: 'cg',
    description: 'conjugate gradients with absolute residual tolerance δ',
    schema: z.strictObject({ maxIterations: z.number().int().min(1).default(2000).describe('safety cap (reported: converged false)') }),
    create: (o) => new ConjugateGradient({ maxIterations: o.maxIterations }),
  }),
];

/** Registers FISTA, Newton-CG and CG. */
export const solversModule = new ContainerModule((bind) => bindPlugins(bind, solverPlugins));
