import { accurateSum, tf, type ImageBatch, type Scalar } from './tensor.js';

/**
 * The upper-level loss g(x) = (1/n) Σᵢ ½‖xᵢ − xᵢ*‖², with ∇g = (x − x*)/n and L_g = 1/n; n is the number of
 * targets, or `count` when these targets are one shard of a larger training set.
 */
export class MeanSquaredUpperLoss {
  readonly lipschitz: number;
  constructor(readonly targets: ImageBatch, count = targets.shape[0]) {
    this.lipschitz = 1 / count;
  }
  /** g(x), summed as a tree (accurateSum): MAID certifies decreases far below a sequential float32 sum's rounding. */
  value(x: ImageBatch): Scalar {
    return tf.tidy(() => tf.mul(0.5 * this.lipschitz, accurateSum(tf.square(tf.sub(x, this.targets)))));
  }
  gradient(x: ImageBatch): ImageBatch {
    return tf.tidy(() => tf.mul(tf.sub(x, this.targets), this.lipschitz));
  }
}
