import { LowerLevelProblem, readScalars, tf, type ImageBatch } from '@bilevel/core';
import { addGaussianNoise, syntheticImage, toBatch } from '@bilevel/datasets';
import { IdentityOperator, L2Fidelity } from '@bilevel/operators';
import { HypergradientOracle } from '@bilevel/oracles';
import { AnisotropicTV } from '@bilevel/regularizers-tv';
import { ConjugateGradient, Fista } from '@bilevel/solvers';

/** A small generated TV-denoising problem: `count` piecewise-smooth images of size×size, σ = 0.1. */
export async function smallTvOracle(count = 2, size = 24, seed = 0): Promise<HypergradientOracle> {
  const clean = toBatch(Array.from({ length: count }, (_, i) => syntheticImage(size, size, seed + i)));
  const noisy = (await addGaussianNoise(clean, { type: 'gaussian', sigma: 0.1 }, seed + 100)) as ImageBatch;
  const problem = new LowerLevelProblem(new IdentityOperator([size, size]), new L2Fidelity(), new AnisotropicTV(), noisy, 0);
  return new HypergradientOracle(problem, clean, new Fista({ maxIterations: 50000, restart: true, stallWindow: 500 }), new ConjugateGradient({ maxIterations: 5000 }), noisy, seed);
}

/**
 * ω against the measured error ‖z − z_ref‖ at θ for each (ε, δ): z_ref at (10⁻⁵, 10⁻⁷), and every case on a fresh
 * `smallTvOracle()` (no warm starts or running maxima carried from other calls).
 */
export async function boundAndError(theta: Float64Array, cases: [number, number][]): Promise<{ epsilon: number; delta: number; zNorm: number; error: number; omega: number }[]> {
  const exact = await smallTvOracle();
  const ref = await exact.hypergradient(theta, 1e-5, 1e-7);
  exact.release(ref.evaluation);
  await exact.dispose();
  const out = [];
  for (const [epsilon, delta] of cases) {
    const oracle = await smallTvOracle();
    const hg = await oracle.hypergradient(theta, epsilon, delta);
    const error = Math.hypot(...Array.from(hg.grad, (g, i) => g - ref.grad[i]));
    oracle.release(hg.evaluation);
    await oracle.dispose();
    out.push({ epsilon, delta, zNorm: Math.hypot(...hg.grad), error, omega: hg.errorBound });
  }
  return out;
}

/** f(θ) with the lower level solved to accuracy ε (from the oracle's warm start). */
export async function upperValue(oracle: HypergradientOracle, theta: number[], epsilon: number): Promise<number> {
  const ev = await oracle.evaluate(Float64Array.from(theta), epsilon);
  oracle.release(ev);
  return ev.value;
}

/** ⟨a, b⟩ of two tensors read back (disposes neither). */
export async function innerProduct(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  const [v] = await readScalars(tf.tidy(() => tf.sum(tf.mul(a, b))));
  return v;
}

export function disposeAll(...t: tf.Tensor[]) {
  tf.dispose(t);
}
