import type { HypergradientOracle } from '../hypergradient/oracle.js';

/** Why an outer optimizer stopped. */
export type StopReason = 'converged' | 'budget' | 'accuracy-floor' | 'max-iterations' | 'interrupted';

/** One row of iterations.jsonl. */
export interface IterationRecord {
  iter: number;
  seconds: number;
  upperLoss: number;
  psnr?: number;
  epsilon: number;
  delta: number;
  omega: number;
  gradNorm: number;
  step: number;
  backtracks: number;
  lowerIterations: number;
  cgIterations: number;
  [extra: string]: number | undefined;
}

/** What a run is allowed to spend; the optimizer stops with 'budget' past any of them. */
export interface Budget {
  maxIterations: number;
  /** Total lower-level + CG iterations. */
  maxInnerIterations?: number;
  maxSeconds?: number;
}

export interface OptimizerContext {
  readonly budget: Budget;
  /** Called after every outer iteration (accepted or not). */
  onIteration?(record: IterationRecord, theta: Float64Array): void;
  /** Polled between iterations; true stops with 'interrupted'. */
  shouldStop?(): boolean;
}

export interface OptimizerResult {
  readonly theta: Float64Array;
  readonly stopReason: StopReason;
  readonly message: string;
  readonly iterations: number;
}

/** An outer (upper-level) optimizer: talks to the problem only through the hypergradient oracle. */
export interface OuterOptimizer {
  readonly name: string;
  run(oracle: HypergradientOracle, theta0: Float64Array, ctx: OptimizerContext): OptimizerResult;
  /**
   * A JSON-serializable snapshot taken inside `onIteration`, from which `restoreState` + `run` continue
   * bit-for-bit (with the oracle's own state restored). Optimizers without it cannot be resumed.
   */
  saveState?(): unknown;
  restoreState?(state: unknown): void;
}
