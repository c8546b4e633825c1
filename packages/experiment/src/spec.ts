import type { Container } from 'inversify';
import {
  TOKENS, type Budget, type DataFidelity, type ForwardOperator, type ImageBatch, type LinearSolver, type LowerSolver, type Oracle,
  type OuterOptimizer, type Regularizer, type Tensor,
} from '@bilevel/core';
import type { ExperimentConfig } from './config.js';

/** Ground truth and measurements of one split. */
export interface ImagePairs {
  readonly clean: ImageBatch;
  readonly measurement: Tensor;
}

/** A split reconstructed at θ: x̃ (caller disposes) and the lower-level iterations spent. */
export interface SplitSolve {
  readonly x: ImageBatch;
  readonly iterations: number;
}

/** How a split is reconstructed at θ for the reported PSNR/SSIM (TOKENS.evaluator). */
export interface SplitEvaluator {
  /** Solves the split's lower level at θ to `tolerance`, from x0 (default: the naive reconstruction). */
  solve(pairs: ImagePairs, theta: Float64Array, tolerance: number, x0?: ImageBatch): Promise<SplitSolve>;
}

/**
 * An experiment's parts as plain instances: the view of its container at one moment (Experiment.spec()). Programmatic
 * users and tools read it; to replace a part, rebind its token on `experiment.container` before a run.
 */
export interface ExperimentSpec {
  operator: ForwardOperator;
  fidelity: DataFidelity;
  /** The regularizer whose θ is learned (with the piggyback oracle: a view of K_θ's parameters, see piggyback.ts). */
  regularizer: Regularizer;
  lowerSolver: LowerSolver;
  linearSolver: LinearSolver;
  optimizer: OuterOptimizer;
  /** Weight of γ/2‖x‖² in h (needed when AᵀA is singular and R is not strongly convex). */
  gamma: number;
  theta0: Float64Array;
  train: ImagePairs;
  test?: ImagePairs;
  budget: Budget;
  seed: number;
  /** Lower-level accuracy ε used for the final evaluation of θ. */
  evaluationTolerance?: number;
  evaluator: SplitEvaluator;
}

/**
 * An experiment composed on an inversify container: every part (TOKENS.operator … TOKENS.optimizer, the oracle, θ₀,
 * the data and the evaluator) is a binding, created from the config on first use. Rebind any token before a run:
 *   experiment.container.rebind(TOKENS.regularizer).toConstantValue(new IsotropicTV());
 */
export class Experiment {
  constructor(
    readonly container: Container,
    readonly config: ExperimentConfig,
    /** The raw config and base folder it was built from (what worker threads rebuild it from). */
    readonly source: { readonly raw: unknown; readonly baseDir: string },
  ) {}

  /** The parts as resolved now (singletons: the same instances on every call; the first call builds them). */
  async spec(): Promise<ExperimentSpec> {
    const c = this.container;
    const get = <T>(token: symbol): Promise<T> => c.getAsync<T>(token);
    const [operator, fidelity, regularizer, lowerSolver, linearSolver, optimizer, theta0, train, test, evaluator] = await Promise.all([
      get<ForwardOperator>(TOKENS.operator), get<DataFidelity>(TOKENS.fidelity), get<Regularizer>(TOKENS.regularizer),
      get<LowerSolver>(TOKENS.lowerSolver), get<LinearSolver>(TOKENS.linearSolver), get<OuterOptimizer>(TOKENS.optimizer),
      get<Float64Array>(TOKENS.theta0), get<ImagePairs>(TOKENS.train), c.isBound(TOKENS.test) ? get<ImagePairs>(TOKENS.test) : undefined,
      get<SplitEvaluator>(TOKENS.evaluator),
    ]);
    const { gamma, budget, seed, evaluationTolerance } = this.config;
    return { operator, fidelity, regularizer, lowerSolver, linearSolver, optimizer, gamma, theta0, train, test, budget, seed, evaluationTolerance, evaluator };
  }

  /** A fresh training oracle (TOKENS.oracle: async and transient; the caller disposes it). */
  oracle(): Promise<Oracle> {
    return this.container.getAsync<Oracle>(TOKENS.oracle);
  }

  /** Frees the data tensors (clean images and measurements of both splits). */
  async dispose(): Promise<void> {
    const s = await this.spec();
    for (const t of [s.train.clean, s.train.measurement, s.test?.clean, s.test?.measurement]) if (t && !t.isDisposed) t.dispose();
  }
}
