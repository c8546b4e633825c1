import type { Scalar, Tensor } from '../tensor.js';

/** A data term D(r, y) of the residual-space variable r = A x; smooth and convex in r. */
export interface DataFidelity {
  readonly name: string;
  /** D(r, y). */
  value(r: Tensor, y: Tensor): Scalar;
  /** ∂D/∂r. */
  gradient(r: Tensor, y: Tensor): Tensor;
  /** ∂²D/∂r² v. */
  hessianApply(r: Tensor, y: Tensor, v: Tensor): Tensor;
  /** D is `mu`-strongly convex and `L`-smooth in r. */
  readonly mu: number;
  readonly L: number;
}
