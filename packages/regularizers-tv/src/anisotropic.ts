import { tf, type Curvature, type ImageBatch, type ParameterLayout, type Regularizer, type Scalar, type Tensor, type Tensor1D } from '@bilevel/core';
import { FiniteDifferences } from './differences.js';
import { fusedTvGrad, fusedTvHvp } from './fused.js';

export const TV_LAYOUT: ParameterLayout = {
  size: 2,
  blocks: [
    { name: 'logWeight', offset: 0, shape: [1] },
    { name: 'logSmoothing', offset: 1, shape: [1] },
  ],
};

/** w = ½e^{θ₀}, ν² = e^{2θ₁} as scalar tensors. */
export function tvScalars(theta: Tensor1D): { w: Scalar; nu2: Scalar } {
  return {
    w: tf.reshape(tf.mul(0.5, tf.exp(tf.slice(theta, 0, 1))), []) as Scalar,
    nu2: tf.reshape(tf.exp(tf.mul(2, tf.slice(theta, 1, 1))), []) as Scalar,
  };
}

/** ‖∇²ₓR‖ ≤ w ‖D‖² max ψ' = ½e^{θ₀} · 8 / ν, with ‖D_h‖², ‖D_v‖² ≤ 4. */
export function tvCurvature(theta: Float32Array): Curvature {
  return { mu: 0, L: (4 * Math.exp(theta[0])) / Math.exp(theta[1]) };
}

/**
 * Smoothed anisotropic TV of the MAID reference:
 *   R_θ(x) = ½e^{θ₀} Σ_k [ √((D_h x)_k² + ν²) + √((D_v x)_k² + ν²) ],  ν = e^{θ₁},
 * with ψ(d) = d/√(d² + ν²), ψ'(d) = ν²/(d² + ν²)^{3/2}:
 *   ∇ₓR = w Σ_d Dᵀψ(Dx),   ∇²ₓₓR v = w Σ_d Dᵀ(ψ'(Dx) ⊙ Dv),
 *   ∂θ₀⟨∇ₓR, v⟩ = w Σ_d ⟨ψ(Dx), Dv⟩,   ∂θ₁⟨∇ₓR, v⟩ = −w Σ_d ⟨Dx ⊙ ψ'(Dx), Dv⟩.
 * (Entries outside the image are masked, so the sum runs over the torch.diff pairs exactly.)
 */
export class AnisotropicTV implements Regularizer {
  readonly name: string = 'tv';
  readonly layout = TV_LAYOUT;

  initialTheta(): Float32Array {
    return Float32Array.from([-5, -5]);
  }

  protected diffs(x: ImageBatch): { D: FiniteDifferences; xf: Tensor; dh: Tensor; dv: Tensor } {
    const D = FiniteDifferences.for(x.shape);
    const xf = tf.reshape(x, [D.size]);
    return { D, xf, dh: D.horizontal(xf), dv: D.vertical(xf) };
  }

  value(x: ImageBatch, theta: Tensor1D): Scalar {
    return tf.tidy(() => {
      const { w, nu2 } = tvScalars(theta);
      const { D, dh, dv } = this.diffs(x);
      const r = (d: Tensor, m: Tensor) => tf.sum(tf.mul(tf.sqrt(tf.add(tf.square(d), nu2)), m));
      return tf.mul(w, tf.add(r(dh, D.maskH), r(dv, D.maskV))) as Scalar;
    });
  }

  gradX(x: ImageBatch, theta: Tensor1D): ImageBatch {
    const fused = fusedTvGrad(x, theta);
    if (fused) return fused;
    return tf.tidy(() => {
      const { w, nu2 } = tvScalars(theta);
      const { D, dh, dv } = this.diffs(x);
      const psi = (d: Tensor) => tf.div(tf.mul(d, w), tf.sqrt(tf.add(tf.square(d), nu2)));
      return tf.reshape(tf.add(D.horizontalAdjoint(psi(dh)), D.verticalAdjoint(psi(dv))), x.shape) as ImageBatch;
    });
  }

  /** w ψ'(d) = w ν² / (d² + ν²)^{3/2}. */
  protected curvatureWeights(d: Tensor, w: Scalar, nu2: Scalar): Tensor {
    const s = tf.add(tf.square(d), nu2);
    return tf.div(tf.mul(nu2, w), tf.mul(s, tf.sqrt(s)));
  }

  hvpX(x: ImageBatch, theta: Tensor1D, v: ImageBatch): ImageBatch {
    const fused = fusedTvHvp(x, v, theta);
    if (fused) return fused;
    return tf.tidy(() => {
      const { w, nu2 } = tvScalars(theta);
      const { D, dh, dv } = this.diffs(x);
      const vf = tf.reshape(v, [D.size]);
      const gh = tf.mul(this.curvatureWeights(dh, w, nu2), D.horizontal(vf));
      const gv = tf.mul(this.curvatureWeights(dv, w, nu2), D.vertical(vf));
      return tf.reshape(tf.add(D.horizontalAdjoint(gh), D.verticalAdjoint(gv)), x.shape) as ImageBatch;
    });
  }

  mixedVjp(x: ImageBatch, theta: Tensor1D, v: ImageBatch): Tensor1D {
    return tf.tidy(() => {
      const { w, nu2 } = tvScalars(theta);
      const { D, dh, dv } = this.diffs(x);
      const vf = tf.reshape(v, [D.size]);
      const part = (d: Tensor, Dv: Tensor) => {
        const s = tf.add(tf.square(d), nu2);
        const psi = tf.div(d, tf.sqrt(s));
        const dPsi = tf.div(tf.mul(d, nu2), tf.mul(s, tf.sqrt(s)));
        return [tf.sum(tf.mul(psi, Dv)), tf.neg(tf.sum(tf.mul(dPsi, Dv)))];
      };
      const [a0, a1] = part(dh, D.horizontal(vf));
      const [b0, b1] = part(dv, D.vertical(vf));
      return tf.mul(tf.stack([tf.add(a0, b0), tf.add(a1, b1)]), w) as Tensor1D;
    });
  }

  curvature(theta: Float32Array): Curvature {
    return tvCurvature(theta);
  }
}
