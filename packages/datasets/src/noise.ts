import { tf, type ForwardOperator, type ImageBatch, type NoiseSpec, type Tensor } from '@bilevel/core';
import { Rng } from './random.js';

/** The values of a tensor on the host (one async read; the tensor is kept). */
async function hostValues(t: Tensor): Promise<Float32Array> {
  const v = await t.data();
  return v instanceof Float32Array ? v : Float32Array.from(v);
}

/** y + σ·n with n ~ N(0, I) from a seeded generator (σ relative to max|y| when `relative`), on host values. */
export function gaussianNoiseValues(values: Float32Array, sigma: number, seed: number, relative = false): Float32Array {
  if (relative) sigma *= values.reduce((m: number, v: number) => Math.max(m, Math.abs(v)), 0);
  const rng = new Rng(seed);
  const out = new Float32Array(values.length);
  for (let i = 0; i < out.length; i++) out[i] = values[i] + sigma * rng.normal();
  return out;
}

/** `gaussianNoiseValues` of a tensor's values (read asynchronously), as a new tensor of its shape. */
export async function addGaussian(clean: Tensor, sigma: number, seed: number, relative = false): Promise<Tensor> {
  const shape = clean.shape;
  return tf.tensor(gaussianNoiseValues(await hostValues(clean), sigma, seed, relative), shape);
}

/** ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9; ~1e-15 relative). */
function logGamma(x: number): number {
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  x -= 1;
  let a = c[0];
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += c[i] / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/**
 * One Poisson(λ) sample: inversion by multiplication for λ < 10, otherwise Hörmann's transformed rejection
 * with squeeze (PTRS, 1993), which is exact for every λ.
 */
export function poissonSample(rng: Rng, lambda: number): number {
  if (!(lambda > 0)) return 0;
  if (lambda < 10) {
    const L = Math.exp(-lambda);
    let k = 0, p = rng.uniform();
    while (p > L) {
      k++;
      p *= rng.uniform();
    }
    return k;
  }
  const slam = Math.sqrt(lambda), loglam = Math.log(lambda);
  const b = 0.931 + 2.53 * slam, a = -0.059 + 0.02483 * b;
  const invalpha = 1.1239 + 1.1328 / (b - 3.4), vr = 0.9277 - 3.6224 / (b - 2);
  for (;;) {
    const U = rng.uniform() - 0.5, V = rng.uniform();
    const us = 0.5 - Math.abs(U);
    const k = Math.floor(((2 * a) / us + b) * U + lambda + 0.43);
    if (us >= 0.07 && V <= vr) return k;
    if (k < 0 || (us < 0.013 && V > us)) continue;
    if (Math.log(V) + Math.log(invalpha) - Math.log(a / (us * us) + b) <= -lambda + k * loglam - logGamma(k + 1)) return k;
  }
}

export interface PoissonOptions {
  /** κ: attenuation per unit of the measurement; default 2 / max y (the most attenuated ray keeps e⁻² of I₀). */
  attenuation?: number;
}

/**
 * Transmission CT noise on line integrals y ≥ 0 (host values): photon counts N ~ Poisson(I₀ e^{−κy}), returned as
 * the log data −ln(max(N, ½)/I₀)/κ in the units of y (a zero count is replaced by ½, the usual fix).
 */
export function poissonNoiseValues(values: Float32Array, photons: number, seed: number, o: PoissonOptions = {}): Float32Array {
  const max = values.reduce((m: number, v: number) => Math.max(m, v), 0);
  const kappa = o.attenuation ?? (max > 0 ? 2 / max : 1);
  const rng = new Rng(seed);
  const out = new Float32Array(values.length);
  for (let i = 0; i < out.length; i++) {
    const counts = poissonSample(rng, photons * Math.exp(-kappa * Math.max(values[i], 0)));
    out[i] = -Math.log(Math.max(counts, 0.5) / photons) / kappa;
  }
  return out;
}

/** `poissonNoiseValues` of a tensor's values (read asynchronously), as a new tensor of its shape. */
export async function addPoissonNoise(clean: Tensor, photons: number, seed: number, o: PoissonOptions = {}): Promise<Tensor> {
  const shape = clean.shape;
  return tf.tensor(poissonNoiseValues(await hostValues(clean), photons, seed, o), shape);
}

/** The noise model of a config on host values: Gaussian (absolute or relative σ) or Poisson (photon count I₀) noise, seeded. */
export function noiseValues(values: Float32Array, noise: NoiseSpec, seed: number): Float32Array {
  if (noise.type === 'poisson') {
    if (!(noise.photons !== undefined && noise.photons > 0)) throw new Error('poisson noise needs photons > 0 (set data.noise.photons)');
    return poissonNoiseValues(values, noise.photons, seed, { attenuation: noise.attenuation });
  }
  return gaussianNoiseValues(values, noise.sigma, seed, noise.relative === true);
}

/** `noiseValues` of a tensor (read asynchronously; the tensor is kept), as a new tensor of its shape. */
export async function addNoise(clean: Tensor, noise: NoiseSpec, seed: number): Promise<Tensor> {
  const shape = clean.shape;
  return tf.tensor(noiseValues(await hostValues(clean), noise, seed), shape);
}

/** Kept for existing callers: the same as `addNoise` (it dispatches on noise.type). */
export const addGaussianNoise = addNoise;

/** Training pairs from any image set: (clean images, noisy measurements of A·clean). */
export async function measurementPairs(clean: ImageBatch, operator: ForwardOperator, noise: NoiseSpec, seed: number): Promise<{ clean: ImageBatch; measurement: Tensor }> {
  const exact = operator.apply(clean);
  try {
    return { clean, measurement: await addNoise(exact, noise, seed) };
  } finally {
    exact.dispose();
  }
}
