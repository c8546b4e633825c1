import { tf, type ForwardOperator, type ImageBatch, type Tensor } from '@bilevel/core';

/** A = I (denoising): apply and adjoint return a copy, ‖A‖² = λ_min(AᵀA) = 1. */
export class IdentityOperator implements ForwardOperator {
  readonly name = 'identity';
  readonly rangeShape: readonly number[];
  readonly minEigenvalueAtA = 1;
  constructor(readonly domainShape: readonly [number, number]) {
    this.rangeShape = [domainShape[0], domainShape[1], 1];
  }
  apply(x: ImageBatch): Tensor {
    return tf.clone(x);
  }
  adjoint(y: Tensor): ImageBatch {
    return tf.clone(y) as ImageBatch;
  }
  normSquared(): number {
    return 1;
  }
  naiveReconstruction(y: Tensor): ImageBatch {
    return tf.clone(y) as ImageBatch;
  }
}
