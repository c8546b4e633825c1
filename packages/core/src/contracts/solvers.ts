import type { ImageBatch, Tensor, Tensor1D } from '../tensor.js';
import type { LowerLevelProblem } from '../problem.js';

/** Why a lower-level solve stopped. */
export type LowerStop = 'certified' | 'iteration-cap' | 'float32-floor';

export interface LowerSolveResult {
  readonly x: ImageBatch;
  readonly iterations: number;
  /** ‖∇ₓh(x̃, θ)‖ at the returned point. */
  readonly gradNorm: number;
  /** The certificate ‖x̃ − x̂‖ ≤ ‖∇ₓh‖/μ. */
  readonly certifiedError: number;
  readonly stop: LowerStop;
}

/** Minimises h(·, θ) from x0 until ‖∇ₓh‖/μ ≤ tolerance (a safety cap is reported, never the rule). */
export interface LowerSolver {
  readonly name: string;
  solve(problem: LowerLevelProblem, theta: Tensor1D, x0: ImageBatch, tolerance: number): LowerSolveResult;
}

export interface LinearSolveResult {
  readonly solution: Tensor;
  readonly iterations: number;
  readonly residualNorm: number;
  readonly converged: boolean;
}

/** Solves B q = b for symmetric positive definite B given as a product v ↦ B v, to ‖B q − b‖ ≤ tolerance. */
export interface LinearSolver {
  readonly name: string;
  solve(apply: (v: Tensor) => Tensor, b: Tensor, x0: Tensor | undefined, tolerance: number): LinearSolveResult;
}
