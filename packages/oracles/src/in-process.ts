import type { LinearSolver, LowerSolveResult, LowerSolver } from '../contracts/solvers.js';
import type { LowerLevelProblem } from '../problem.js';
import { dot, squaredNorm, tf, readScalars, type ImageBatch, type Tensor1D } from '../tensor.js';
import { MeanSquaredUpperLoss } from '../upper.js';
import { LipschitzEstimates } from './lipschitz.js';
import type { Oracle } from './oracle-api.js';

/** Float32 unit round-off. */
export const FLOAT32_EPS = 2 ** -23;

/** The lower level solved at θ to accuracy ε: x̃ with ‖x̃ − x̂(θ)‖ ≤ certifiedError. */
export interface LowerEvaluation {
  readonly theta: Float64Array;
  readonly x: ImageBatch;
  /** g(x̃). */
  readonly value: number;
  /** ‖∇g(x̃)‖. */
  readonly upperGradNorm: number;
  readonly lower: LowerSolveResult;
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
}

/**
 * f(θ) = g(x̂) estimated by the adjoint-corrected value g(x̃) − ⟨q̃, ∇ₓh(x̃)⟩ (exact to first order in x̂ − x̃), with
 * |f(θ) − value| ≤ bound (see adjointValueBound).
 */
export interface ValueEstimate {
  readonly value: number;
  readonly bound: number;
}

/** The work one value estimate adds to the oracle counters (see HypergradientOracle.valueEstimate). */
export const VALUE_ESTIMATE_WORK = { lowerIterations: 1, cgIterations: 2 } as const;

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

/** ∇f(θ) ≈ z = −J(x̃)ᵀq̃, B(x̃)q̃ ≈ ∇g(x̃), with the a-posteriori bound ‖z − ∇f(θ)‖ ≤ errorBound. */
export interface HypergradientResult {
  readonly value: number;
  /** The adjoint-corrected f(θ) and its bound, where the oracle provides it. */
  readonly valueEstimate?: ValueEstimate;
  readonly grad: Float64Array;
  readonly errorBound: number;
  readonly stats: HypergradientStats;
  readonly evaluation: LowerEvaluation;
}

/**
 * MAID's a-posteriori bound ω = c₁ε + c₂δ + c₃ε² with c₂ = ‖J‖/μ, c₁ = L_g‖J‖/μ + L_{H⁻¹}‖∇g‖‖J‖ + L_J‖∇g‖/μ,
 * c₃ = L_J L_g/μ, and L_{H⁻¹} ≤ L_H/μ² (δ: the CG residual norm ‖Bq̃ − ∇g(x̃)‖ reached).
 */
export function maidErrorBound(c: { epsilon: number; delta: number; mu: number; Lg: number; upperGradNorm: number; jacobianNorm: number; lipschitzJ: number; lipschitzHessian: number }): number {
  const { epsilon, delta, mu, Lg, upperGradNorm: g, jacobianNorm: J, lipschitzJ: LJ } = c;
  const LHinv = c.lipschitzHessian / (mu * mu);
  const c1 = (Lg * J) / mu + LHinv * g * J + (LJ * g) / mu;
  const c2 = J / mu;
  const c3 = (LJ * Lg) / mu;
  return c1 * epsilon + c2 * delta + c3 * epsilon * epsilon;
}

/**
 * Bound on |g(x̂) − g(x̃) + ⟨q̃, ∇ₓh(x̃)⟩| for μ-strongly convex h with L_H-Lipschitz Hessian B, r = ‖∇ₓh(x̃)‖,
 * e = r/μ ≥ ‖x̃ − x̂‖ and the CG residual ρ = ‖Bq̃ − ∇g(x̃)‖:  ρr/μ + (L_H‖∇g(x̃)‖/μ + ½L_g)e² + 8u|g(x̃)|.
 * From x̂ − x̃ = −B⁻¹(∇h(x̃) + R), ‖R‖ ≤ ½L_H e², and g(x̂) − g(x̃) = ⟨∇g(x̃), x̂ − x̃⟩ ± ½L_g e². L_H is a probed
 * estimate (a lower bound on the true constant), so its term is doubled; the last term allows for the float32
 * rounding of g(x̃) and x̃ (u = 2⁻²³).
 */
export function adjointValueBound(c: { value: number; residual: number; hGradNorm: number; mu: number; Lg: number; upperGradNorm: number; lipschitzHessian: number }): number {
  const e = c.hGradNorm / c.mu;
  return c.residual * e + ((c.lipschitzHessian * c.upperGradNorm) / c.mu + 0.5 * c.Lg) * e * e + 8 * FLOAT32_EPS * Math.abs(c.value);
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
}

/** Serializable warm-start state (for checkpoints). */
export interface OracleState {
  x: Float32Array;
  q: Float32Array | null;
  counters: OracleCounters;
  lipschitz: { jacobianNorm: number; lipschitzJ: number; lipschitzHessian: number; seed?: number; direction?: number[] };
  /** Per-shard constants of a sharded oracle (worker threads). */
  shards?: { counters: OracleCounters; lipschitz: OracleState['lipschitz'] }[];
}

/**
 * The implicit-differentiation engine (DESIGN §1): any lower-level problem, lower solver and linear solver.
 * Keeps per-image warm starts for x (the last accepted x̃) and for q (the last CG solution).
 */
export class HypergradientOracle implements Oracle {
  readonly upper: MeanSquaredUpperLoss;
  readonly counters: OracleCounters = { lowerIterations: 0, cgIterations: 0, lowerSeconds: 0, cgSeconds: 0, probeWork: 0 };
  private readonly estimates: LipschitzEstimates;
  private warmX: ImageBatch;
  private warmQ: ImageBatch | undefined;

  constructor(
    readonly problem: LowerLevelProblem,
    targets: ImageBatch,
    readonly lowerSolver: LowerSolver,
    readonly linearSolver: LinearSolver,
    x0?: ImageBatch,
    seed = 0,
    /** Size of the whole training set when `targets` is one shard of it (normalises g by it). */
    trainingSetSize?: number,
  ) {
    this.upper = new MeanSquaredUpperLoss(targets, trainingSetSize);
    this.warmX = tf.keep(x0 ? x0.clone() : tf.zeros(problem.imageShape));
    this.estimates = new LipschitzEstimates(seed);
  }

  /** Strong convexity and smoothness of h(·, θ). */
  curvature(theta: Float64Array): { mu: number; L: number } {
    return this.problem.curvature(Float32Array.from(theta));
  }

  /**
   * The smallest ε worth asking of a float32 solver: u κ ‖x‖ / 4 (u = 2⁻²³, κ = L/μ from the curvature bounds).
   * Measured on TV denoising, FISTA stalls at about a fifth of this; its stall detection is the backstop.
   */
  accuracyFloor(theta: Float64Array): number {
    const { mu, L } = this.curvature(theta);
    const [xNorm] = readScalars(tf.norm(this.warmX));
    return 0.25 * FLOAT32_EPS * (L / mu) * Math.max(xNorm, 1);
  }

  /**
   * Solves the lower level at θ to accuracy ε from the current warm start (which it does not change), or from `from`'s
   * x̃ (e.g. a re-solve at finer ε near an earlier trial point).
   */
  evaluate(theta: Float64Array, epsilon: number, from?: LowerEvaluation): LowerEvaluation {
    const t0 = performance.now();
    const thetaT = tf.tensor1d(Float32Array.from(theta));
    const lower = this.lowerSolver.solve(this.problem, thetaT, from?.x ?? this.warmX, epsilon);
    thetaT.dispose();
    const [value, gradNormSq] = readScalars(
      this.upper.value(lower.x),
      tf.tidy(() => squaredNorm(this.upper.gradient(lower.x))),
    );
    this.counters.lowerIterations += lower.iterations;
    this.counters.lowerSeconds += (performance.now() - t0) / 1000;
    return { theta: Float64Array.from(theta), x: lower.x, value, upperGradNorm: Math.sqrt(gradNormSq), lower };
  }

  /** Makes `ev.x` the warm start of later solves (after an accepted step). */
  accept(ev: LowerEvaluation): void {
    if (ev.x === this.warmX) return;
    this.warmX.dispose();
    this.warmX = tf.keep(ev.x.clone());
  }

  /** Frees an evaluation's tensors (call once an evaluation is no longer needed). */
  release(ev: LowerEvaluation): void {
    if (ev.x !== this.warmX && !ev.x.isDisposed) ev.x.dispose();
  }

  /** The current warm-start iterate (the last accepted x̃). */
  get current(): ImageBatch {
    return this.warmX;
  }

  /** Inexact hypergradient at θ with lower accuracy ε and CG residual δ (DESIGN §1–2). */
  hypergradient(theta: Float64Array, epsilon: number, delta: number, evaluation?: LowerEvaluation, options: HypergradientOptions = {}): HypergradientResult {
    const ev = evaluation ?? this.evaluate(theta, epsilon);
    const thetaT = tf.tensor1d(Float32Array.from(theta));
    const { mu } = this.curvature(theta);
    const x = ev.x;
    const t0 = performance.now();
    const b = this.upper.gradient(x);
    const cg = this.linearSolver.solve((v) => this.problem.hvpX(x, thetaT, v as ImageBatch), b, this.warmQ, delta);
    b.dispose();
    const q = cg.solution as ImageBatch;
    this.counters.cgIterations += cg.iterations;
    this.counters.cgSeconds += (performance.now() - t0) / 1000;
    const zT = tf.tidy(() => tf.neg(this.problem.mixedVjp(x, thetaT, q))) as Tensor1D;
    const grad = Float64Array.from(zT.dataSync());
    const valueEstimate = options.valueEstimate ? this.valueEstimate(ev, thetaT, q, cg.residualNorm, mu) : undefined;
    const withBound = options.errorBound ?? true;
    const constants = withBound
      ? this.estimates.update(this.problem, x, thetaT, theta, q, grad, Math.max(epsilon, 1e-12))
      : { ...this.estimates.snapshot(), qNorm: Math.sqrt(readScalars(squaredNorm(q))[0]), work: 0 };
    const probeWork = constants.work;
    this.counters.probeWork += probeWork;
    zT.dispose();
    thetaT.dispose();
    if (this.warmQ) this.warmQ.dispose();
    this.warmQ = tf.keep(q);
    const J = constants.jacobianNorm;
    const LHinv = constants.lipschitzHessian / (mu * mu);
    // δ enters ω as the CG residual actually reached (≤ the requested δ once CG converged).
    const errorBound = !withBound ? Number.NaN : maidErrorBound({ epsilon, delta: cg.residualNorm, mu, Lg: this.upper.lipschitz, upperGradNorm: ev.upperGradNorm, ...constants });
    return {
      value: ev.value,
      valueEstimate,
      grad,
      errorBound,
      evaluation: ev,
      stats: {
        qNorm: constants.qNorm,
        lowerIterations: ev.lower.iterations,
        cgIterations: cg.iterations,
        cgResidual: cg.residualNorm,
        jacobianNorm: J,
        lipschitzJ: constants.lipschitzJ,
        lipschitzHessianInverse: LHinv,
        mu,
        lowerSeconds: 0,
        cgSeconds: (performance.now() - t0) / 1000,
        probeWork,
      },
    };
  }

  /**
   * g(x̃) − ⟨q̃, ∇ₓh(x̃)⟩ and its bound: one lower-level gradient (counted as a lower-level iteration) and two
   * Hessian-vector products (counted as CG iterations).
   */
  private valueEstimate(ev: LowerEvaluation, theta: Tensor1D, q: ImageBatch, residual: number, mu: number): ValueEstimate {
    // ∇ₓh(x̃), and L_H probed along the approximate error direction p = ∇ₓh(x̃)/μ (x̃ − x̂ ≈ B⁻¹∇ₓh(x̃)):
    // ‖(B(x̃ − p) − B(x̃))q̂‖/‖p‖, q̂ = q̃/‖q̃‖, taken with the random-direction estimate's running maximum.
    const [correction, hGradNorm, probe] = readScalars(...tf.tidy(() => {
      const gh = this.problem.gradX(ev.x, theta);
      const norm = tf.norm(gh);
      const qh = tf.div(q, tf.maximum(tf.norm(q), 1e-30)) as ImageBatch;
      const shifted = tf.sub(ev.x, tf.mul(gh, 1 / mu)) as ImageBatch;
      const change = tf.norm(tf.sub(this.problem.hvpX(shifted, theta, qh), this.problem.hvpX(ev.x, theta, qh)));
      return [dot(q, gh), norm, tf.div(tf.mul(change, mu), tf.maximum(norm, 1e-30))];
    }));
    this.counters.lowerIterations += VALUE_ESTIMATE_WORK.lowerIterations;
    this.counters.cgIterations += VALUE_ESTIMATE_WORK.cgIterations;
    const bound = adjointValueBound({
      value: ev.value, residual, hGradNorm, mu, Lg: this.upper.lipschitz, upperGradNorm: ev.upperGradNorm,
      lipschitzHessian: Math.max(probe, this.estimates.lipschitzHessian),
    });
    return { value: ev.value - correction, bound };
  }

  /** Warm starts, counters and constant estimates, for checkpoints. */
  saveState(): OracleState {
    return {
      x: Float32Array.from(this.warmX.dataSync()),
      q: this.warmQ ? Float32Array.from(this.warmQ.dataSync()) : null,
      counters: { ...this.counters },
      lipschitz: this.estimates.snapshot(),
    };
  }

  restoreState(s: OracleState): void {
    this.warmX.dispose();
    this.warmX = tf.keep(tf.tensor(s.x, this.problem.imageShape)) as ImageBatch;
    this.warmQ?.dispose();
    this.warmQ = s.q ? (tf.keep(tf.tensor(s.q, this.problem.imageShape)) as ImageBatch) : undefined;
    Object.assign(this.counters, s.counters);
    this.estimates.restore(s.lipschitz);
  }

  dispose(): void {
    this.warmX.dispose();
    this.warmQ?.dispose();
  }
}
