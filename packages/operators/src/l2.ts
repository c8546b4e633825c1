import { tf, type DataFidelity, type Scalar, type Tensor } from '@bilevel/core';

/** D(r, y) = ½‖r − y‖², ∂D/∂r = r − y, ∂²D/∂r² = I (μ = L = 1). */
export class L2Fidelity implements DataFidelity {
  readonly name = 'l2';
  readonly mu = 1;
  readonly L = 1;
  value(r: Tensor, y: Tensor): Scalar {
    return tf.tidy(() => tf.mul(0.5, tf.sum(tf.square(tf.sub(r, y)))));
  }
  gradient(r: Tensor, y: Tensor): Tensor {
    return tf.sub(r, y);
  }
  hessianApply(_r: Tensor, _y: Tensor, v: Tensor): Tensor {
    return tf.clone(v);
  }
}
