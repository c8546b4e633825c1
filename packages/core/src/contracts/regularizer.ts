import type { ImageBatch, Scalar, Tensor1D } from '../tensor.js';

/** A named block of the flat parameter vector θ. */
export interface ParameterBlock {
  readonly name: string;
  readonly offset: number;
  readonly shape: readonly number[];
}

/** How θ is laid out: its size and its named blocks (for reports and checkpoints). */
export interface ParameterLayout {
  readonly size: number;
  readonly blocks: readonly ParameterBlock[];
}

/** Bounds the solvers need: R is `mu`-strongly convex and ∇ₓR is `L`-Lipschitz in x at this θ. */
export interface Curvature {
  readonly mu: number;
  readonly L: number;
}

/**
 * A regularizer R_θ(x) on a batch of images; every method sums over the batch.
 * Second-order products are closed forms or single reverse passes through closed-form first derivatives:
 * tfjs cannot safely differentiate twice through exp/tanh/pow.
 */
export interface Regularizer {
  readonly name: string;
  readonly layout: ParameterLayout;
  /** The reference initial θ (seeded where random). */
  initialTheta(seed: number): Float32Array;
  /** R_θ(x), summed over the batch. */
  value(x: ImageBatch, theta: Tensor1D): Scalar;
  /** ∇ₓR_θ(x). */
  gradX(x: ImageBatch, theta: Tensor1D): ImageBatch;
  /** ∇²ₓₓR_θ(x) v. */
  hvpX(x: ImageBatch, theta: Tensor1D, v: ImageBatch): ImageBatch;
  /** (∂θ∂ₓR)ᵀ v = ∇_θ ⟨∇ₓR_θ(x), v⟩. */
  mixedVjp(x: ImageBatch, theta: Tensor1D, v: ImageBatch): Tensor1D;
  /**
   * Cheap bounds at θ (no power method per call). With `imageShape` ([n, h, w, 1] of x) the bounds need only hold on
   * images of that shape (a regularizer may then work out its border exactly); without it, on every shape.
   */
  curvature(theta: Float32Array, imageShape?: readonly number[]): Curvature;
}
