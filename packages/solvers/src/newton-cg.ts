import { readScalars, squaredNorm, tf, type ImageBatch, type LowerLevelProblem, type Tensor1D } from '@bilevel/core';
import { ConjugateGradient } from './cg.js';

export interface NewtonOptions {
  /** Forcing term η: each Newton direction p solves B p = ∇ₓh by CG to ‖B p − ∇ₓh‖ ≤ η‖∇ₓh‖ … */
  forcing: number;
  /** … or stops after this many CG iterations (a truncated CG direction still descends). */
  cgCap: number;
}

export const NEWTON_DEFAULTS: NewtonOptions = { forcing: 0.1, cgCap: 8 };

export interface NewtonRun {
  /** The last point that decreased ‖∇ₓh‖ (undefined: the first step did not halve it; nothing changed) … */
  readonly x?: ImageBatch;
  /** … and ∇ₓh there (the caller owns both). */
  readonly g?: ImageBatch;
  readonly gradNorm: number;
  /** Gradients + Hessian-vector products evaluated. */
  readonly work: number;
}

/**
 * Inexact Newton steps x ← x − p, B(x)p ≈ ∇ₓh(x) by CG (forcing η, at most cgCap iterations), for as long as each
 * full step at least halves ‖∇ₓh‖ and ‖∇ₓh‖/μ > tolerance. p descends on ½‖∇ₓh‖² (CG residuals are orthogonal to
 * ∇ₓh, so the slope −⟨∇ₓh, Bp⟩ = −‖∇ₓh‖²); a step that decreases ‖∇ₓh‖ less than twofold is kept but ends the run,
 * one that does not decrease it is discarded; no step starts once `budget` work is spent. Returns undefined `x` when
 * the first step fails to halve ‖∇ₓh‖, so the caller (FISTA) carries on with its momentum intact.
 */
export async function newtonSteps(
  problem: LowerLevelProblem, theta: Tensor1D, x0: ImageBatch, g0: ImageBatch, gradNorm0: number, mu: number,
  tolerance: number, options: NewtonOptions, budget = Infinity,
): Promise<NewtonRun> {
  const cg = new ConjugateGradient({ maxIterations: options.cgCap });
  let x: ImageBatch | undefined;
  let g = g0;
  let gradNorm = gradNorm0;
  let work = 0;
  for (let k = 0; gradNorm / mu > tolerance && work < budget; k++) {
    const from = x ?? x0;
    const step = await cg.solve((v) => problem.hvpX(from, theta, v as ImageBatch), g, undefined, options.forcing * gradNorm);
    const xt = tf.tidy(() => tf.sub(from, step.solution)) as ImageBatch;
    step.solution.dispose();
    const gt = problem.gradX(xt, theta);
    const [normSq] = await readScalars(squaredNorm(gt));
    const nt = Math.sqrt(normSq);
    work += step.iterations + 1;
    const halved = nt <= 0.5 * gradNorm;
    if (k === 0 && !halved) {
      xt.dispose();
      gt.dispose();
      return { gradNorm: gradNorm0, work };
    }
    if (nt >= gradNorm) {
      xt.dispose();
      gt.dispose();
      return { x, g: x && g, gradNorm, work };
    }
    if (g !== g0) g.dispose();
    x?.dispose();
    x = xt;
    g = gt;
    gradNorm = nt;
    if (!halved) break;
  }
  return { x, g: x && g, gradNorm, work };
}
