import { tf, type ImageBatch, type Scalar } from './tensor.js';

/** The upper-level loss g(x) = (1/n) Σᵢ ½‖xᵢ − xᵢ*‖², with ∇g = (x − x*)/n and L_g = 1/n. */
export class MeanSquaredUpperLoss {
  readonly lipschitz: number;
  constructor(readonly targets: ImageBatch) {
    this.lipschitz = 1 / targets.shape[0];
  }
  value(x: ImageBatch): Scalar {
    return tf.tidy(() => tf.mul(0.5 * this.lipschitz, tf.sum(tf.square(tf.sub(x, this.targets)))));
  }
  gradient(x: ImageBatch): ImageBatch {
    return tf.tidy(() => tf.mul(tf.sub(x, this.targets), this.lipschitz));
  }
}
