import { readFileSync } from 'node:fs';
import { tf, useBackend } from '@bilevel/core';
import { addGaussianNoise, loadImages, toBatch } from '@bilevel/datasets';
import { ConvOperatorFamily, PiggybackOracle } from '@bilevel/optimizers';
await useBackend('wasm');
const d = JSON.parse(readFileSync('/tmp/pb-small/results.json', 'utf8'));
const run = d.runs.find((r) => r.label === 'learned-adaptive');
const clean = toBatch(loadImages({ source: 'folder', path: '/work/shared/data/Kodak24-96', count: 4 }, 'x'));
const noisy = addGaussianNoise(clean, { type: 'gaussian', sigma: 0.1 }, 0);
const fam = new ConvOperatorFamily('learned', 3, 4, undefined, Math.exp(-2.5));
const theta = Float64Array.from(run.theta);
const o = new PiggybackOracle(fam, noisy, clean, { huber: 1e-3 });
const Lg = o.upper.lipschitz;
for (const eps of [8.8e-3, 2e-3]) {
  const cur = o.evaluate(theta, eps);
  o.accept(cur);
  const hg = o.hypergradient(theta, cur.lower.certifiedError, eps, cur);
  const z = hg.grad, zn = Math.hypot(...z);
  const e = cur.lower.certifiedError;
  const lower = cur.value - cur.upperGradNorm * e - 0.5 * Lg * e * e;
  console.log('eps', eps, 'value', cur.value, 'cert', e, '|z|', zn, 'omega', hg.errorBound, 'lower', lower);
  for (let i = 0; i < 10; i++) {
    const a = 0.058 * 0.5 ** i;
    const ev = o.evaluate(theta.map((t, k) => t - a * z[k]), eps);
    const e2 = ev.lower.certifiedError;
    const upper = ev.value + ev.upperGradNorm * e2 + 0.5 * Lg * e2 * e2;
    console.log('  a', a.toExponential(2), 'value', ev.value.toFixed(5), 'cert', e2.toExponential(2), 'U-L+lam', (upper - lower + 1e-4 * a * zn * zn).toExponential(3), 'pred', (a * zn * zn).toExponential(2), ev.lower.iterations);
    o.release(ev);
  }
  o.release(cur);
}
