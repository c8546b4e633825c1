import type { ImageBatch } from '../tensor.js';
import type { MeanSquaredUpperLoss } from '../upper.js';
import type { HypergradientOptions, HypergradientResult, LowerEvaluation, OracleCounters, OracleState } from './oracle.js';

/**
 * What outer optimizers may use of a hypergradient oracle. HypergradientOracle implements it in-process;
 * a sharded oracle (@bilevel/cli, `--workers`) implements it over worker threads.
 */
export interface Oracle {
  readonly upper: MeanSquaredUpperLoss;
  readonly counters: OracleCounters;
  /** The warm-start iterate (the last accepted x̃), all training images. */
  readonly current: ImageBatch;
  curvature(theta: Float64Array): { mu: number; L: number };
  accuracyFloor(theta: Float64Array): number;
  /** Solves the lower level at θ to accuracy ε, warm-started from `from`'s x̃ if given, else from `current`. */
  evaluate(theta: Float64Array, epsilon: number, from?: LowerEvaluation): LowerEvaluation;
  accept(ev: LowerEvaluation): void;
  release(ev: LowerEvaluation): void;
  hypergradient(theta: Float64Array, epsilon: number, delta: number, evaluation?: LowerEvaluation, options?: HypergradientOptions): HypergradientResult;
  saveState(): OracleState;
  restoreState(s: OracleState): void;
  dispose(): void;
}
