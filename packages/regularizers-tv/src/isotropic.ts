import { tf, type Curvature, type ImageBatch, type Regularizer, type Scalar, type Tensor, type Tensor1D } from '@bilevel/core';
import { TV_LAYOUT, tvCurvature, tvScalars } from './anisotropic.js';
import { FiniteDifferences } from './differences.js';

/**
 * Smoothed isotropic TV: R_θ(x) = ½e^{θ₀} Σ_k ρ_k, ρ = √((D_h x)² + (D_v x)² + ν²), ν = e^{θ₁}.
 * With d = (D_h x, D_v x) per pixel:
 *   ∇ₓR = w Dᵀ(d/ρ),  ∇²ₓₓR v = w Dᵀ(Dv/ρ − d ⟨d, Dv⟩/ρ³),
 *   ∂θ₀⟨∇ₓR, v⟩ = w⟨d/ρ, Dv⟩,  ∂θ₁⟨∇ₓR, v⟩ = −w ν² ⟨d/ρ³, Dv⟩.
 */
export class IsotropicTV implements Regularizer {
  readonly name = 'tv-isotropic';
  readonly layout = TV_LAYOUT;

  initialTheta(): Float32Array {
    return Float32Array.from([-5, -5]);
  }

  /** Both differences on the common index range [0, N − 1). */
  private aligned(D: FiniteDifferences, xf: Tensor): [Tensor, Tensor] {
    return [D.horizontal(xf), tf.pad(D.vertical(xf), [[0, D.width - 1]])];
  }

  /** Dᵀ(ph, pv) for aligned (length N − 1) components. */
  private adjoint(D: FiniteDifferences, ph: Tensor, pv: Tensor, shape: ImageBatch['shape']): ImageBatch {
    const pvShort = tf.slice(pv, 0, D.size - D.width);
    return tf.reshape(tf.add(D.horizontalAdjoint(ph), D.verticalAdjoint(pvShort)), shape) as ImageBatch;
  }

  private setup(x: ImageBatch, theta: Tensor1D) {
    const { w, nu2 } = tvScalars(theta);
    const D = FiniteDifferences.for(x.shape);
    const [dh, dv] = this.aligned(D, tf.reshape(x, [D.size]));
    const rho = tf.sqrt(tf.add(tf.add(tf.square(dh), tf.square(dv)), nu2));
    return { w, nu2, D, dh, dv, rho };
  }

  value(x: ImageBatch, theta: Tensor1D): Scalar {
    return tf.tidy(() => {
      const { w, rho } = this.setup(x, theta);
      return tf.mul(w, tf.sum(rho)) as Scalar;
    });
  }

  gradX(x: ImageBatch, theta: Tensor1D): ImageBatch {
    return tf.tidy(() => {
      const { w, D, dh, dv, rho } = this.setup(x, theta);
      const s = tf.div(w, rho);
      return this.adjoint(D, tf.mul(dh, s), tf.mul(dv, s), x.shape);
    });
  }

  hvpX(x: ImageBatch, theta: Tensor1D, v: ImageBatch): ImageBatch {
    return tf.tidy(() => {
      const { w, D, dh, dv, rho } = this.setup(x, theta);
      const [uh, uv] = this.aligned(D, tf.reshape(v, [D.size]));
      const inner = tf.add(tf.mul(dh, uh), tf.mul(dv, uv));
      const a = tf.div(w, rho);
      const b = tf.div(tf.mul(inner, w), tf.pow(rho, 3));
      return this.adjoint(D, tf.sub(tf.mul(uh, a), tf.mul(dh, b)), tf.sub(tf.mul(uv, a), tf.mul(dv, b)), x.shape);
    });
  }

  mixedVjp(x: ImageBatch, theta: Tensor1D, v: ImageBatch): Tensor1D {
    return tf.tidy(() => {
      const { w, nu2, D, dh, dv, rho } = this.setup(x, theta);
      const [uh, uv] = this.aligned(D, tf.reshape(v, [D.size]));
      const inner = tf.add(tf.mul(dh, uh), tf.mul(dv, uv));
      const g0 = tf.sum(tf.div(inner, rho));
      const g1 = tf.neg(tf.mul(nu2, tf.sum(tf.div(inner, tf.pow(rho, 3)))));
      return tf.mul(tf.stack([g0, g1]), w) as Tensor1D;
    });
  }

  curvature(theta: Float32Array): Curvature {
    return tvCurvature(theta);
  }
}
