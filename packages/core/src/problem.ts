import type { DataFidelity } from './contracts/fidelity.js';
import type { ForwardOperator } from './contracts/operator.js';
import type { Curvature, Regularizer } from './contracts/regularizer.js';
import { tf, type ImageBatch, type Scalar, type Tensor, type Tensor1D } from './tensor.js';

/**
 * The lower-level objective of a batch of independent images,
 *   h(x, θ) = Σᵢ [ D(A xᵢ, yᵢ) + R_θ(xᵢ) + γ/2 ‖xᵢ‖² ],
 * strongly convex in x with μ = μ_D λ_min(AᵀA) + μ_R + γ and smooth with L = L_D ‖A‖² + L_R + γ.
 */
export class LowerLevelProblem {
  constructor(
    readonly operator: ForwardOperator,
    readonly fidelity: DataFidelity,
    readonly regularizer: Regularizer,
    /** Measurements y, [n, ...operator.rangeShape]. */
    readonly measurement: Tensor,
    /** Weight of the added γ/2‖x‖² term (0 to omit). */
    readonly gamma: number,
  ) {}

  get batchSize(): number {
    return this.measurement.shape[0];
  }

  /** The batch shape [n, h, w, 1] of x. */
  get imageShape(): [number, number, number, number] {
    const [h, w] = this.operator.domainShape;
    return [this.batchSize, h, w, 1];
  }

  /** h(x, θ). */
  value(x: ImageBatch, theta: Tensor1D): Scalar {
    return tf.tidy(() => {
      let v = tf.add(this.fidelity.value(this.operator.apply(x), this.measurement), this.regularizer.value(x, theta));
      if (this.gamma > 0) v = tf.add(v, tf.mul(0.5 * this.gamma, tf.sum(tf.square(x))));
      return v as Scalar;
    });
  }

  /** ∇ₓh = Aᵀ∇D(Ax, y) + ∇ₓR + γx. */
  gradX(x: ImageBatch, theta: Tensor1D): ImageBatch {
    return tf.tidy(() => {
      let g = tf.add(this.operator.adjoint(this.fidelity.gradient(this.operator.apply(x), this.measurement)), this.regularizer.gradX(x, theta));
      if (this.gamma > 0) g = tf.add(g, tf.mul(x, this.gamma));
      return g as ImageBatch;
    });
  }

  /** ∇²ₓₓh v = Aᵀ ∇²D A v + ∇²ₓₓR v + γv. */
  hvpX(x: ImageBatch, theta: Tensor1D, v: ImageBatch): ImageBatch {
    return tf.tidy(() => {
      const A = this.operator;
      let hv = tf.add(A.adjoint(this.fidelity.hessianApply(A.apply(x), this.measurement, A.apply(v))), this.regularizer.hvpX(x, theta, v));
      if (this.gamma > 0) hv = tf.add(hv, tf.mul(v, this.gamma));
      return hv as ImageBatch;
    });
  }

  /** (∂θ∂ₓh)ᵀ v = (∂θ∂ₓR)ᵀ v (the data term does not depend on θ). */
  mixedVjp(x: ImageBatch, theta: Tensor1D, v: ImageBatch): Tensor1D {
    return this.regularizer.mixedVjp(x, theta, v);
  }

  /** Strong convexity μ and smoothness L of h(·, θ). */
  curvature(theta: Float32Array): Curvature {
    const r = this.regularizer.curvature(theta, this.imageShape);
    const A = this.operator;
    return {
      mu: this.fidelity.mu * A.minEigenvalueAtA + r.mu + this.gamma,
      L: this.fidelity.L * A.normSquared() + r.L + this.gamma,
    };
  }
}
