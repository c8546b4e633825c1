import type { ImageBatch, Tensor } from '../tensor.js';
import type { LowerSolveSummary } from './oracle.js';
import type { LowerLevelProblem } from '../problem.js';

/** Why a lower-level solve stopped. */
export type LowerStop = 'certified' | 'iteration-cap' | 'float32-floor';

export interface LowerSolveResult extends LowerSolveSummary {
  readonly x: ImageBatch;
}

/** Minimises h(·, θ) from x0 until ‖∇ₓh‖/μ ≤ tolerance (a safety cap is reported, never the rule). */
export interface LowerSolver {
  readonly name: string;
  /** θ as CPU numbers (the solver makes the tensor and reads μ, L from them). */
  solve(problem: LowerLevelProblem, theta: Float32Array, x0: ImageBatch, tolerance: number): Promise<LowerSolveResult>;
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
  solve(apply: (v: Tensor) => Tensor, b: Tensor, x0: Tensor | undefined, tolerance: number): Promise<LinearSolveResult>;
}
