import { describe, expect, it } from 'vitest';
import { tf, type ImageBatch } from '@bilevel/core';
import { addGaussianNoise, syntheticImage, toBatch } from '@bilevel/datasets';
import { ConvOperatorFamily, PiggybackOracle } from '@bilevel/optimizers';

function smallPair(count = 2, size = 12, seed = 0) {
  const clean = toBatch(Array.from({ length: count }, (_, i) => syntheticImage(size, size, seed + i)));
  const noisy = addGaussianNoise(clean, { type: 'gaussian', sigma: 0.1 }, seed + 100) as ImageBatch;
  return { clean, noisy };
}

describe('piggyback', () => {
  it('explore', () => {
    const { clean, noisy } = smallPair();
    const fam = new ConvOperatorFamily('learned', 3, 2);
    const theta = fam.initialLearnedTheta(0.08, 0.5, 1);
    const oracle = new PiggybackOracle(fam, noisy, clean, { huber: 1e-2 });
    const t0 = performance.now();
    const hg = oracle.hypergradient(theta, 1e-5, 1e-5);
    console.log('hg time', performance.now() - t0, 'its', hg.stats, 'omega', hg.errorBound, 'value', hg.value);
    const rng = (k: number) => Math.sin(12.9898 * k + 78.233) * 43758.5453 % 1;
    const v = Float64Array.from(theta, (_, k) => rng(k + 1));
    const vn = Math.hypot(...v);
    v.forEach((_, k) => (v[k] /= vn));
    const dir = hg.grad.reduce((s, g, k) => s + g * v[k], 0);
    for (const h of [1e-2, 3e-3, 1e-3]) {
      const f = (sgn: number) => {
        const o2 = new PiggybackOracle(fam, noisy, clean, { huber: 1e-2 });
        const ev = o2.evaluate(theta.map((t, k) => t + sgn * h * v[k]), 1e-6);
        const val = ev.value;
        o2.release(ev); o2.dispose();
        return val;
      };
      console.log('h', h, 'fd', (f(1) - f(-1)) / (2 * h), 'analytic', dir);
    }
  });
});
