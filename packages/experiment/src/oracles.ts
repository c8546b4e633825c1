import type { Container, interfaces } from 'inversify';
import {
  LowerLevelProblem, parseOptions, TOKENS, UnknownPluginError, z, type OptionsSchema,
  type DataFidelity, type ForwardOperator, type ImageBatch, type LinearSolver, type LowerSolver, type Oracle, type Regularizer,
} from '@bilevel/core';
import { HypergradientOracle } from '@bilevel/oracles';
import type { ExperimentConfig } from './config.js';
import { bindPiggyback, PIGGYBACK_SCHEMA } from './piggyback.js';
import type { ImagePairs, SplitEvaluator } from './spec.js';

/** The parts of h(x, θ) = D(Ax, y) + R_θ(x) + γ/2‖x‖² and its solvers. */
export interface ProblemParts {
  operator: ForwardOperator;
  fidelity: DataFidelity;
  regularizer: Regularizer;
  lowerSolver: LowerSolver;
  linearSolver: LinearSolver;
  gamma: number;
}

/** The lower-level problem of a split. */
export function problemFor(p: ProblemParts, pairs: ImagePairs): LowerLevelProblem {
  return new LowerLevelProblem(p.operator, p.fidelity, p.regularizer, pairs.measurement, p.gamma);
}

/** A fresh in-process oracle on a split, warm-started at the naive reconstruction. */
export function inProcessOracle(p: ProblemParts, train: ImagePairs, seed: number, lowerSolver: LowerSolver = p.lowerSolver): HypergradientOracle {
  const x0 = p.operator.naiveReconstruction(train.measurement);
  const oracle = new HypergradientOracle(problemFor(p, train), train.clean, lowerSolver, p.linearSolver, x0, seed);
  x0.dispose();
  return oracle;
}

/** Reconstructs a split with the lower solver on h, from x0 or the naive reconstruction. */
export function lowerSolverEvaluator(p: ProblemParts): SplitEvaluator {
  return {
    async solve(pairs: ImagePairs, theta: Float64Array, tolerance: number, x0?: ImageBatch) {
      const start = x0 ?? p.operator.naiveReconstruction(pairs.measurement);
      const solved = await p.lowerSolver.solve(problemFor(p, pairs), Float32Array.from(theta), start, tolerance);
      if (!x0) start.dispose();
      return { x: solved.x, iterations: solved.iterations };
    },
  };
}

/** Resolves the problem's parts from a container. */
export async function problemParts(c: interfaces.Container, config: ExperimentConfig): Promise<ProblemParts> {
  const get = <T>(t: symbol) => c.getAsync<T>(t);
  const [operator, fidelity, regularizer, lowerSolver, linearSolver] = await Promise.all([
    get<ForwardOperator>(TOKENS.operator), get<DataFidelity>(TOKENS.fidelity), get<Regularizer>(TOKENS.regularizer),
    get<LowerSolver>(TOKENS.lowerSolver), get<LinearSolver>(TOKENS.linearSolver),
  ]);
  return { operator, fidelity, regularizer, lowerSolver, linearSolver, gamma: config.gamma };
}

/** A training oracle the config can choose (`"oracle": { "name", "options" }`): it binds TOKENS.oracle and TOKENS.evaluator. */
export interface OracleChoice {
  readonly name: string;
  readonly description: string;
  /** Its options, declared once (the listing of `bilevel plugins` comes from it). */
  readonly schema: OptionsSchema;
  bind(c: Container, config: ExperimentConfig): void;
}

const IN_PROCESS: OracleChoice = {
  name: 'in-process',
  description: 'implicit differentiation of h(x, θ) in this thread: lower solver, CG on the Hessian, MAID\'s bound ω (default; --workers shards it)',
  schema: z.strictObject({}),
  bind(c, config) {
    parseOptions(this.schema, config.oracle.options, 'oracle.options');
    c.bind(TOKENS.oracle).toDynamicValue(async (ctx): Promise<Oracle> => {
      const parts = await problemParts(ctx.container, config);
      return inProcessOracle(parts, await ctx.container.getAsync<ImagePairs>(TOKENS.train), config.seed);
    });
    c.bind(TOKENS.evaluator).toDynamicValue(async (ctx) => lowerSolverEvaluator(await problemParts(ctx.container, config))).inSingletonScope();
  },
};

const PIGGYBACK: OracleChoice = {
  name: 'piggyback',
  description: 'inexact piggyback: learned TV discretization K_θ, saddle-point lower level solved by PDHG with the adjoint alongside (replaces the regularizer and solvers)',
  schema: PIGGYBACK_SCHEMA,
  bind: bindPiggyback,
};

/** The oracles `"oracle"` can name. */
export const ORACLE_CHOICES: readonly OracleChoice[] = [IN_PROCESS, PIGGYBACK];

/** Binds the config's oracle (and its evaluator); an unknown name throws UnknownPluginError. */
export function bindOracle(c: Container, config: ExperimentConfig): void {
  const choice = ORACLE_CHOICES.find((o) => o.name === config.oracle.name);
  if (!choice) throw new UnknownPluginError('oracle', config.oracle.name, ORACLE_CHOICES.map((o) => o.name));
  choice.bind(c, config);
}
