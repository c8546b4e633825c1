import type { ImageBatch } from '../tensor.js';
import type { Curvature } from './regularizer.js';
import type { LowerStop } from './solvers.js';

/** What a lower-level solve reports besides x̃ (plain numbers). */
export interface LowerSolveSummary {
  readonly iterations: number;
  /** ‖∇ₓh(x̃, θ)‖. */
  readonly gradNorm: number;
  /** The certificate ‖x̃ − x̂‖ ≤ ‖∇ₓh‖/μ. */
  readonly certifiedError: number;
  readonly stop: LowerStop;
}

/**
 * The lower level solved at θ to accuracy ε: an opaque handle (`id`; x̃ stays with the oracle, on the device or on
 * another thread or machine) with the numbers optimizers need. ‖x̃ − x̂(θ)‖ ≤ lower.certifiedError.
 */
export interface LowerEvaluation {
  readonly id: number;
  readonly theta: Float64Array;
  /** g(x̃). */
  readonly value: number;
  /** ‖∇g(x̃)‖. */
  readonly upperGradNorm: number;
  readonly lower: LowerSolveSummary;
}

export interface HypergradientStats {
  /** ‖q̃‖ of the CG solution. */
  qNorm: number;
  lowerIterations: number;
  cgIterations: number;
  cgResidual: number;
  jacobianNorm: number;
  lipschitzJ: number;
  lipschitzHessianInverse: number;
  mu: number;
  lowerSeconds: number;
  cgSeconds: number;
  /** Gradients and products this call spent probing ω's constants (at most PROBE_WORK). */
  probeWork: number;
  /** Device→host reads (core's readCount) this call made, its lower solve included when it ran one; absent where not counted. */
  hostReads?: number;
}

/**
 * f(θ) = g(x̂) estimated by the adjoint-corrected value g(x̃) − ⟨q̃, ∇ₓh(x̃)⟩ (exact to first order in x̂ − x̃), with
 * |f(θ) − value| ≤ bound (see adjointValueBound).
 */
export interface ValueEstimate {
  readonly value: number;
  readonly bound: number;
}

export interface HypergradientOptions {
  /**
   * Also return the adjoint-corrected value f(θ) ≈ g(x̃) − ⟨q̃, ∇ₓh(x̃)⟩ and its bound (one more lower-level gradient
   * and two Hessian-vector products).
   */
  valueEstimate?: boolean;
  /**
   * Compute the bound ω (default true). false skips probing its constants (PROBE_WORK gradients and products) and
   * returns errorBound = NaN: for optimizers that do not use ω.
   */
  errorBound?: boolean;
}

/** ∇f(θ) ≈ z = −J(x̃)ᵀq̃, B(x̃)q̃ ≈ ∇g(x̃), with the a-posteriori bound ‖z − ∇f(θ)‖ ≤ errorBound. Plain data. */
export interface HypergradientResult {
  readonly value: number;
  /** The adjoint-corrected f(θ) and its bound, where the oracle provides it. */
  readonly valueEstimate?: ValueEstimate;
  readonly grad: Float64Array;
  readonly errorBound: number;
  readonly stats: HypergradientStats;
  readonly evaluation: LowerEvaluation;
}

/** Running totals of the work done through the oracle. */
export interface OracleCounters {
  lowerIterations: number;
  cgIterations: number;
  lowerSeconds: number;
  cgSeconds: number;
  /**
   * Gradients and products spent probing ω's constants (at most PROBE_WORK per hypergradient that computes ω). Not part of
   * the lower-level + CG cost axis of the papers; reported beside it (`compare.mjs --count-probes` adds it).
   */
  probeWork: number;
  /**
   * Device→host reads (core's readCount: one per readTensors/readScalars/readVector call) the oracle's work made:
   * at most one per lower-level or CG iteration plus a few per call (docs/backends.md, "Device→host reads"). Absent where an oracle does not
   * count them (worker-thread and piggyback oracles).
   */
  hostReads?: number;
}

/** Running estimates of ω's constants (and the probe RNG position and power-iteration direction). */
export interface LipschitzState {
  jacobianNorm: number;
  lipschitzJ: number;
  lipschitzHessian: number;
  seed?: number;
  direction?: number[];
  /** How far the power direction moved in its last step (absent before the first: ∞). */
  directionMoved?: number;
  /** The θ of the last probe (a call at the same θ skips the random probe). */
  probedAt?: number[];
}

/** Serializable oracle state (for checkpoints): warm starts, counters, constants. */
export interface OracleState {
  x: Float32Array;
  q: Float32Array | null;
  counters: OracleCounters;
  lipschitz: LipschitzState;
  /** The accepted evaluation's numbers (its x̃ is `x`), restored as `accepted()`. */
  accepted?: Omit<LowerEvaluation, 'id' | 'theta'> & { theta: number[] };
  /** Per-shard states of a sharded oracle (worker threads), their images in `x` and `q`. */
  shards?: ShardState[];
  /** Oracle-specific extras (e.g. the dual iterate of the piggyback oracle). */
  extra?: Record<string, Float32Array | number[] | number | null>;
}

/** What one shard of a sharded oracle saves besides its images (those are in the sharded oracle's x and q). */
export type ShardState = Omit<OracleState, 'x' | 'q' | 'shards'>;

/** How a minibatch's work is added to the full oracle's counters. */
export type BatchCostScaling = 'per-image' | 'raw';

/**
 * The one interface outer optimizers use (DESIGN §4): implemented in-process, over worker threads, over Redis, and by the
 * piggyback (primal–dual) oracle. Every call that may wait is async; handles, not tensors, cross it.
 */
export interface Oracle {
  /** Number of training images f averages over. */
  readonly size: number;
  /** Unknowns per image (the size of one x̃ᵢ): with `size`, what per-element (RMS) tolerances are scaled by. */
  readonly pixels: number;
  /** L_g = 1/n of the upper loss g(x) = (1/n) Σ ½‖xᵢ − xᵢ*‖². */
  readonly upperLipschitz: number;
  readonly counters: OracleCounters;
  /** Strong convexity and smoothness of h(·, θ) (CPU numbers). */
  curvature(theta: Float64Array): Curvature;
  /** The smallest ε worth asking of a float32 solver at θ. */
  accuracyFloor(theta: Float64Array): Promise<number>;
  /** Solves the lower level at θ to accuracy ε, warm-started from `from`'s x̃ if given, else from the accepted x̃. */
  evaluate(theta: Float64Array, epsilon: number, from?: LowerEvaluation): Promise<LowerEvaluation>;
  /** Makes `ev`'s x̃ the warm start of later solves (after an accepted step). */
  accept(ev: LowerEvaluation): Promise<void>;
  /** The accepted evaluation (restored with the state), if any. */
  accepted(): LowerEvaluation | undefined;
  /** Frees an evaluation (a no-op for the accepted one). */
  release(ev: LowerEvaluation): void;
  /** Inexact hypergradient at θ with lower accuracy ε and CG residual δ, at `evaluation` if given. */
  hypergradient(theta: Float64Array, epsilon: number, delta: number, evaluation?: LowerEvaluation, options?: HypergradientOptions): Promise<HypergradientResult>;
  /** A copy of x̃ of `ev` (default: the accepted one), all training images; the caller disposes it. */
  reconstruction(ev?: LowerEvaluation): Promise<ImageBatch>;
  /** An oracle over the training images `indices`, warm-started (x, q, constants) from this one (minibatch methods). */
  subset(indices: readonly number[]): Promise<Oracle>;
  /**
   * Ends a subset: with `keep`, its warm starts and constants are written back; its work is always added to the
   * counters, scaled by |B|/n ('per-image') or not ('raw'). Disposes the subset.
   */
  merge(sub: Oracle, o: { keep: boolean; costScaling: BatchCostScaling }): Promise<void>;
  saveState(): Promise<OracleState>;
  restoreState(s: OracleState): Promise<void>;
  dispose(): Promise<void>;
}
