import type { ImageBatch, Tensor } from '../tensor.js';

/** A linear forward operator A mapping a batch of images [n, h, w, 1] to measurements [n, ...rangeShape]. */
export interface ForwardOperator {
  readonly name: string;
  /** Per-image domain [height, width]. */
  readonly domainShape: readonly [number, number];
  /** Per-image range shape, e.g. [height, width, 1] or [angles, detectors]. */
  readonly rangeShape: readonly number[];
  /** y = A x. */
  apply(x: ImageBatch): Tensor;
  /** x = Aᵀ y, the exact transpose of `apply`. */
  adjoint(y: Tensor): ImageBatch;
  /** An upper estimate of ‖A‖² = λ_max(AᵀA) (computed once, cached). */
  normSquared(): number;
  /** A lower bound of λ_min(AᵀA): 1 for the identity, 0 when A is not injective. */
  readonly minEigenvalueAtA: number;
  /** The naive reconstruction reported as "input": the measurement itself, or FBP for CT. */
  naiveReconstruction(y: Tensor): ImageBatch;
}
