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
    // ‖r‖² stays on the device for α = ‖r‖²/⟨p, Bp⟩, so each iteration reads one number, ‖r_new‖². On cpu/wasm the
    // float32 division is correctly rounded: the α the host's float64 quotient gave, once rounded to float32.
    let rsT = squaredNorm(r);
    let [rs] = await readScalars(rsT.clone());
    let iterations = 0;
    if (x0) {
      const rWarm = tf.tidy(() => tf.sub(b, apply(x0)));
      iterations = 1;
      const rsWarmT = squaredNorm(rWarm);
      const [rsWarm] = await readScalars(rsWarmT.clone());
      if (rsWarm < rs) {
        x.dispose(); r.dispose(); rsT.dispose();
        x = tf.clone(x0); r = rWarm; rs = rsWarm; rsT = rsWarmT;
      } else {
        rWarm.dispose(); rsWarmT.dispose();
      }
    }
    let p = tf.clone(r);
    while (Math.sqrt(rs) > tolerance && iterations < this.options.maxIterations) {
      iterations++;
      const Ap = apply(p);
      const [xn, rn] = tf.tidy(() => {
        const alpha = tf.div(rsT, dot(p, Ap));
        return [tf.add(x, tf.mul(p, alpha)), tf.sub(r, tf.mul(Ap, alpha))];
      });
      Ap.dispose(); x.dispose(); r.dispose(); rsT.dispose();
      x = xn; r = rn;
      rsT = squaredNorm(r);
      const [rsNew] = await readScalars(rsT.clone());
      const pn = tf.tidy(() => tf.add(r, tf.mul(p, rsNew / rs)));
      p.dispose();
      p = pn;
      rs = rsNew;
    }
    rsT.dispose();
    p.dispose(); r.dispose();
    const residualNorm = Math.sqrt(rs);
    return { solution: x, iterations, residualNorm, converged: residualNorm <= tolerance };
  }
}
