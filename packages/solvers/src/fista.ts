import { dot, squaredNorm, tf, readScalars, type ImageBatch, type LowerLevelProblem, type LowerSolveResult, type LowerSolver, type Tensor1D } from '@bilevel/core';
import { NEWTON_DEFAULTS, newtonSteps, type NewtonOptions } from './newton-cg.js';

export interface FistaOptions {
  /** Safety cap on gradient evaluations; reaching it is reported as 'iteration-cap', never silently. */
  maxIterations: number;
  /** Gradient-based adaptive restart of the momentum (O'Donoghue–Candès). */
  restart: boolean;
  /** Iterations without a new smallest ‖∇ₓh‖ after which the float32 floor is declared. */
  stallWindow: number;
  /**
   * Newton acceleration (the 'newton-cg' plugin): Newton steps (see newtonSteps) are tried from the FISTA iterate at
   * once, then whenever ‖∇ₓh‖ has decreased 10-fold since the last successful try, or 10^(2j)-fold after j failed
   * tries in a row (a failed try costs at most cgCap + 1 products and leaves FISTA's momentum intact); undefined:
   * plain FISTA.
   */
  newton?: NewtonOptions;
}

export const FISTA_DEFAULTS: FistaOptions = { maxIterations: 20000, restart: true, stallWindow: 200 };

/**
 * FISTA for μ-strongly convex, L-smooth h(·, θ) (constant momentum β = (√L − √μ)/(√L + √μ), step 1/L,
 * μ and L from the problem at θ):
 *   x_{k+1} = z_k − ∇ₓh(z_k)/L,  z_{k+1} = x_{k+1} + β (x_{k+1} − x_k).
 * Stops at the first z_k with ‖∇ₓh(z_k)‖/μ ≤ tolerance, which certifies ‖z_k − x̂‖ ≤ tolerance.
 * With `newton` it also takes inexact Newton steps (the 'newton-cg' solver); `iterations` then counts their
 * gradients and Hessian-vector products too.
 */
export class Fista implements LowerSolver {
  constructor(readonly options: FistaOptions = FISTA_DEFAULTS, readonly name = 'fista') {}

  async solve(problem: LowerLevelProblem, thetaValues: Float32Array, x0: ImageBatch, tolerance: number): Promise<LowerSolveResult> {
    const theta = tf.tensor1d(thetaValues);
    try {
      return await this.iterate(problem, thetaValues, theta, x0, tolerance);
    } finally {
      theta.dispose();
    }
  }

  private async iterate(problem: LowerLevelProblem, thetaValues: Float32Array, theta: Tensor1D, x0: ImageBatch, tolerance: number): Promise<LowerSolveResult> {
    const { mu, L } = problem.curvature(thetaValues);
    const step = 1 / L;
    const beta = (Math.sqrt(L) - Math.sqrt(mu)) / (Math.sqrt(L) + Math.sqrt(mu));
    let x = tf.clone(x0);
    let z = tf.clone(x0);
    let best = Infinity;
    let bestAt = 0;
    // Lower-level work besides FISTA's own gradients (Newton's gradients and Hessian-vector products).
    let extra = 0;
    let nextNewton = Infinity;
    let newtonFailures = 0;
    // ∇ₓh at Newton's last point, already counted in `extra`.
    let pending: ImageBatch | undefined;
    for (let k = 1; ; k++) {
      const g = pending ?? problem.gradX(z, theta);
      if (pending) extra--;
      pending = undefined;
      const [gnSq, gDotMomentum] = await readScalars(squaredNorm(g), tf.tidy(() => dot(g, tf.sub(z, x))));
      const gradNorm = Math.sqrt(gnSq);
      const stop = gradNorm / mu <= tolerance ? 'certified'
        : k + extra >= this.options.maxIterations ? 'iteration-cap'
        : k - bestAt > this.options.stallWindow ? 'float32-floor' : undefined;
      if (stop) {
        g.dispose();
        x.dispose();
        return { x: z, iterations: k + extra, gradNorm, certifiedError: gradNorm / mu, stop };
      }
      if (this.options.newton && gradNorm <= nextNewton) {
        const run = await newtonSteps(problem, theta, z, g, gradNorm, mu, tolerance, this.options.newton, this.options.maxIterations - k - extra);
        extra += run.work;
        // Back off: the next try after a tenfold decrease of ‖∇ₓh‖, 100-fold after a failed try, 10⁴-fold after two, …
        newtonFailures = run.x ? 0 : newtonFailures + 1;
        nextNewton = run.gradNorm / 10 ** Math.max(1, 2 * newtonFailures);
        if (run.x) {
          // Restart FISTA (no momentum) from Newton's point.
          g.dispose();
          x.dispose();
          z.dispose();
          x = tf.clone(run.x);
          z = run.x;
          pending = run.g;
          best = run.gradNorm;
          bestAt = k;
          continue;
        }
      }
      if (gradNorm < best * 0.999) {
        best = gradNorm;
        bestAt = k;
      }
      // Restart when the step x_{k+1} − x_k = (z − x) − g/L points uphill: ⟨g, z − x⟩ − ‖g‖²/L > 0.
      const b = this.options.restart && gDotMomentum - step * gnSq > 0 ? 0 : beta;
      const [xNext, zNext] = tf.tidy(() => {
        const xn = tf.sub(z, tf.mul(g, step));
        return [xn, b === 0 ? tf.clone(xn) : tf.add(xn, tf.mul(tf.sub(xn, x), b))];
      });
      g.dispose();
      x.dispose();
      z.dispose();
      x = xNext as ImageBatch;
      z = zNext as ImageBatch;
    }
  }
}

/** The 'newton-cg' lower solver: FISTA (adaptive restart) with Newton steps, defaults where `o` is silent. */
export function newtonCg(o: Partial<Omit<FistaOptions, 'newton' | 'restart'> & NewtonOptions> = {}): Fista {
  return new Fista({
    maxIterations: o.maxIterations ?? FISTA_DEFAULTS.maxIterations,
    stallWindow: o.stallWindow ?? FISTA_DEFAULTS.stallWindow,
    restart: true,
    newton: { forcing: o.forcing ?? NEWTON_DEFAULTS.forcing, cgCap: o.cgCap ?? NEWTON_DEFAULTS.cgCap },
  }, 'newton-cg');
}
