import { dot, squaredNorm, tf, readScalars, type LinearSolveResult, type LinearSolver, type Tensor } from '@bilevel/core';

export interface CgOptions {
  /** Safety cap; reaching it is reported (converged: false). */
  maxIterations: number;
}

/**
 * Conjugate gradients for B q = b, B symmetric positive definite, stopping at ‖b − B q‖ ≤ tolerance
 * (absolute). A warm start x0 is used when its residual is smaller than ‖b‖.
 */
export class ConjugateGradient implements LinearSolver {
  readonly name = 'cg';
  constructor(readonly options: CgOptions = { maxIterations: 2000 }) {}

  async solve(apply: (v: Tensor) => Tensor, b: Tensor, x0: Tensor | undefined, tolerance: number): Promise<LinearSolveResult> {
    let x = tf.zerosLike(b);
    let r = tf.clone(b);
    let [rs] = await readScalars(squaredNorm(r));
    let iterations = 0;
    if (x0) {
      const rWarm = tf.tidy(() => tf.sub(b, apply(x0)));
      iterations = 1;
      const [rsWarm] = await readScalars(squaredNorm(rWarm));
      if (rsWarm < rs) {
        x.dispose(); r.dispose();
        x = tf.clone(x0); r = rWarm; rs = rsWarm;
      } else rWarm.dispose();
    }
    let p = tf.clone(r);
    while (Math.sqrt(rs) > tolerance && iterations < this.options.maxIterations) {
      iterations++;
      const Ap = apply(p);
      const [pAp] = await readScalars(dot(p, Ap));
      const alpha = rs / pAp;
      const [xn, rn] = tf.tidy(() => [tf.add(x, tf.mul(p, alpha)), tf.sub(r, tf.mul(Ap, alpha))]);
      Ap.dispose(); x.dispose(); r.dispose();
      x = xn; r = rn;
      const [rsNew] = await readScalars(squaredNorm(r));
      const pn = tf.tidy(() => tf.add(r, tf.mul(p, rsNew / rs)));
      p.dispose();
      p = pn;
      rs = rsNew;
    }
    p.dispose(); r.dispose();
    const residualNorm = Math.sqrt(rs);
    return { solution: x, iterations, residualNorm, converged: residualNorm <= tolerance };
  }
}
