import type { Oracle } from './oracle.js';

/** Why an outer optimizer stopped. */
export type StopReason = 'converged' | 'budget' | 'accuracy-floor' | 'max-iterations' | 'interrupted' | 'numerical-error';

/** A reason to stop with its explanation. */
export interface Stop {
  readonly reason: StopReason;
  readonly message: string;
}

/** What a step reports of an outer iteration; the driver adds iter, seconds and the oracle's work counters. */
export interface StepRecord {
  upperLoss: number;
  psnr?: number;
  epsilon: number;
  delta: number;
  omega: number;
  gradNorm: number;
  step: number;
  backtracks: number;
  [extra: string]: number | undefined;
}

/** One row of iterations.jsonl. */
export interface IterationRecord extends StepRecord {
  iter: number;
  /** Seconds since the run started, over all its segments (a resumed run continues the count of its checkpoint). */
  seconds: number;
  lowerIterations: number;
  cgIterations: number;
  /** The run's segment: 1, then one more at every resume. */
  segment?: number;
  /** On a segment's first row: when the segment started (ms since the Unix epoch). */
  segmentStart?: number;
}

/** What a run is allowed to spend; the driver stops with 'budget' past any of them. */
export interface Budget {
  maxIterations: number;
  /** Total lower-level + CG iterations. */
  maxInnerIterations?: number;
  maxSeconds?: number;
}

/** What a step may ask of the driver. */
export interface StepContext {
  /** A reason to stop now (interruption, work or time budget): steps poll it between costly trials. */
  check(): Stop | undefined;
  /** Seconds since the run started (over all its segments). */
  readonly seconds: number;
}

/** One outer iteration's outcome: the next state, its log row (when an iteration was completed), and a stop. */
export interface StepResult<S> {
  readonly state: S;
  readonly record?: StepRecord;
  readonly stop?: Stop;
}

/**
 * An outer (upper-level) optimizer as jaxopt/Optax shape it: `init` builds a plain, JSON-serialisable state at θ₀ and
 * `step` runs one outer iteration through the oracle. One driver (runOptimizer) loops, owns budgets, logging,
 * checkpoints and resume; so every optimizer resumes bit-for-bit from its state and the oracle's.
 */
export interface OuterOptimizer<S = unknown> {
  readonly name: string;
  init(theta0: Float64Array, oracle: Oracle): S;
  step(oracle: Oracle, state: S, ctx: StepContext): Promise<StepResult<S>>;
  /** θ of a state. */
  theta(state: S): Float64Array;
}

export interface OptimizerResult {
  readonly theta: Float64Array;
  readonly stopReason: StopReason;
  readonly message: string;
  readonly iterations: number;
}
