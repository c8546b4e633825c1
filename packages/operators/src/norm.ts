import { scoped, tf, type ForwardOperator, type ImageBatch } from '@bilevel/core';

export interface PowerIterationOptions {
  /** Stop when the Rayleigh quotient changes by less than this, relatively. */
  tolerance?: number;
  maxIterations?: number;
  seed?: number;
}

/** Multiplies the power-iteration estimate (a lower estimate of λ_max) so that it is an upper estimate. */
export const NORM_SAFETY_FACTOR = 1.01;

/**
 * λ_max(AᵀA) = ‖A‖² by power iteration on AᵀA from a seeded random image (one image, no batch); returns the
 * converged Rayleigh quotient ‖Av‖²/‖v‖². Leaks no tensors.
 */
export function powerIteration(op: Pick<ForwardOperator, 'apply' | 'adjoint' | 'domainShape'>, o: PowerIterationOptions = {}): number {
  const tol = o.tolerance ?? 1e-5, maxIt = o.maxIterations ?? 200;
  const [h, w] = op.domainShape;
  return scoped(() => {
    let v = tf.randomNormal([1, h, w, 1], 0, 1, 'float32', o.seed ?? 1234) as ImageBatch;
    let estimate = 0;
    for (let k = 0; k < maxIt; k++) {
      const next = tf.tidy(() => {
        const nv = tf.div(v, tf.norm(v)) as ImageBatch;
        const av = op.apply(nv);
        return { v: op.adjoint(av), q: tf.sum(tf.square(av)) };
      });
      v.dispose();
      v = next.v;
      const q = next.q.dataSync()[0];
      next.q.dispose();
      if (!(q > 0)) return 0;
      const done = Math.abs(q - estimate) <= tol * q;
      estimate = q;
      if (done && k >= 3) break;
    }
    v.dispose();
    return estimate;
  });
}
