import { describe, expect, it } from 'vitest';
import { ConfigErrors, tf, type ForwardOperator, type ImageBatch, type Tensor } from '@bilevel/core';
import { addGaussianNoise, addNoise, addPoissonNoise, measurementPairs, noiseValues, poissonSample, Rng } from '@bilevel/datasets';

/** The config parser lives in @bilevel/experiment (loaded only by the tests that need it). */
const parseConfig = async (raw: unknown) => (await import('@bilevel/experiment')).parseConfig(raw);

function moments(values: ArrayLike<number>): { mean: number; variance: number } {
  let m = 0;
  for (let i = 0; i < values.length; i++) m += values[i];
  m /= values.length;
  let v = 0;
  for (let i = 0; i < values.length; i++) v += (values[i] - m) ** 2;
  return { mean: m, variance: v / (values.length - 1) };
}

describe('Poisson sampling', () => {
  for (const lambda of [0.5, 4, 37, 1e3, 1e5]) {
    it(`λ = ${lambda}: integer samples with mean and variance λ`, () => {
      const rng = new Rng(11);
      const n = 40000;
      const s = Float64Array.from({ length: n }, () => poissonSample(rng, lambda));
      for (const v of s.subarray(0, 100)) expect(Number.isInteger(v) && v >= 0).toBe(true);
      const { mean, variance } = moments(s);
      // 6 standard errors of the mean; the variance within 5%.
      expect(Math.abs(mean - lambda)).toBeLessThan(6 * Math.sqrt(lambda / n));
      expect(Math.abs(variance / lambda - 1)).toBeLessThan(0.05);
    });
  }
});

describe('noise models', () => {
  const clean = () => tf.tensor2d(Float32Array.from({ length: 4000 }, (_, i) => 0.5 + 0.5 * Math.sin(i / 50)), [40, 100]);

  it('gaussian: seeded, absolute or relative to the max, and addGaussianNoise is the same model', async () => {
    const x = clean();
    const a = await addNoise(x, { type: 'gaussian', sigma: 0.1 }, 3), b = await addGaussianNoise(x, { type: 'gaussian', sigma: 0.1 }, 3);
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    expect(Array.from(noiseValues(x.dataSync() as Float32Array, { type: 'gaussian', sigma: 0.1 }, 3))).toEqual(Array.from(a.dataSync()));
    const r = tf.sub(a, x).dataSync();
    expect(Math.sqrt(moments(r).variance)).toBeCloseTo(0.1, 2);
    const scaled = tf.mul(x, 10);
    const rel = tf.sub(await addNoise(scaled, { type: 'gaussian', sigma: 0.01, relative: true }, 3), scaled).dataSync();
    expect(Math.sqrt(moments(rel).variance)).toBeCloseTo(0.1, 2);
    tf.dispose([x, a, b, scaled]);
  });

  it('poisson: −ln(N/I₀)/κ is unbiased to first order with variance e^{κy}/(I₀κ²)', async () => {
    const y = tf.fill([20000], 1.5);
    const photons = 1e4, kappa = 0.8;
    const noisy = (await addPoissonNoise(y, photons, 5, { attenuation: kappa })).dataSync();
    const { mean, variance } = moments(noisy);
    const expected = Math.exp(kappa * 1.5) / (photons * kappa * kappa);
    expect(Math.abs(mean - 1.5)).toBeLessThan(6 * Math.sqrt(expected / 20000) + expected);
    expect(Math.abs(variance / expected - 1)).toBeLessThan(0.05);
    y.dispose();
  });

  it('poisson: more photons, less noise; zero counts stay finite; seeded; via the config', async () => {
    const x = clean();
    const err = async (photons: number) => {
      const n = await addNoise(x, { type: 'poisson', sigma: 0, photons }, 9);
      const e = Math.sqrt(moments(tf.sub(n, x).dataSync()).variance);
      n.dispose();
      return e;
    };
    expect(await err(1e5)).toBeLessThan((await err(1e3)) / 5);
    const starved = (await addPoissonNoise(tf.fill([1000], 50), 10, 1, { attenuation: 1 })).dataSync();
    for (const v of starved) expect(Number.isFinite(v)).toBe(true);
    const p1 = await addNoise(x, { type: 'poisson', sigma: 0, photons: 100 }, 2), p2 = await addNoise(x, { type: 'poisson', sigma: 0, photons: 100 }, 2);
    expect(Array.from(p1.dataSync())).toEqual(Array.from(p2.dataSync()));
    await expect(addNoise(x, { type: 'poisson', sigma: 0 }, 2)).rejects.toThrow(/photons/);
    const config = await parseConfig({ data: { train: { source: 'synthetic', count: 1, size: [16, 16] }, noise: { type: 'poisson', photons: 5000 } }, regularizer: { name: 'tv' } });
    expect(config.data.noise).toMatchObject({ type: 'poisson', photons: 5000, sigma: 0 });
    tf.dispose([x, p1, p2]);
  });

  it('config: poisson needs photons, gaussian needs sigma (errors name the field)', async () => {
    const issues = async (noise: unknown): Promise<string[]> => {
      try {
        await parseConfig({ data: { train: { source: 'synthetic', count: 1, size: [16, 16] }, noise }, regularizer: { name: 'tv' } });
      } catch (e) {
        if (!(e instanceof ConfigErrors)) throw e;
        return e.issues.map((i) => i.path);
      }
      return [];
    };
    expect(await issues({ type: 'poisson' })).toContain('data.noise.photons');
    expect(await issues({ type: 'poisson', photons: -3 })).toContain('data.noise.photons');
    expect(await issues({})).toContain('data.noise.sigma');
  });
});

describe('training pairs from any image set', () => {
  it('measures images through any operator and adds the noise', async () => {
    const doubling: ForwardOperator = {
      name: 'double', domainShape: [4, 4], rangeShape: [4, 4, 1], minEigenvalueAtA: 4,
      apply: (x: ImageBatch): Tensor => tf.mul(x, 2), adjoint: (y: Tensor) => tf.mul(y, 2) as ImageBatch,
      normSquared: () => 4, naiveReconstruction: (y: Tensor) => tf.div(y, 2) as ImageBatch,
    };
    const clean = tf.ones([2, 4, 4, 1]) as ImageBatch;
    const pairs = await measurementPairs(clean, doubling, { type: 'gaussian', sigma: 0 }, 1);
    expect(pairs.clean).toBe(clean);
    expect(Array.from(pairs.measurement.dataSync())).toEqual(new Array(32).fill(2));
    tf.dispose([clean, pairs.measurement]);
  });
});
