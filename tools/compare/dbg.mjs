import { tf, useBackend } from '@bilevel/core';
import { addGaussianNoise, loadImages, toBatch } from '@bilevel/datasets';
import { ConvOperatorFamily, piggybackPsnr } from '@bilevel/optimizers';
await useBackend('wasm');
const clean = toBatch(loadImages({ source: 'folder', path: '/work/shared/data/Kodak24-96', count: 4 }, 'x'));
const noisy = addGaussianNoise(clean, { type: 'gaussian', sigma: 0.1 }, 0);
const lam = Math.exp(-2.54);
for (const eh of [1e-3, 3e-3]) {
  const std = ConvOperatorFamily.forwardDifferences();
  const t0 = performance.now();
  const r = piggybackPsnr(std, Float64Array.from([-2.54]), noisy, clean, 1e-3, { huber: eh });
  console.log('eh', eh, 'std', r.psnr.toFixed(3), r.loss.toFixed(4), r.iterations, ((performance.now() - t0) / 1000).toFixed(1));
  for (const [s, C, share] of [[3, 4, 0.1], [3, 4, 0.05], [3, 4, 0]]) {
    const fam = new ConvOperatorFamily('learned', s, C, undefined, lam);
    const t1 = performance.now();
    const q = piggybackPsnr(fam, fam.initialLearnedTheta(0.1, 0, share), noisy, clean, 1e-3, { huber: eh });
    console.log('   learned', s, C, share, q.psnr.toFixed(3), q.loss.toFixed(4), q.iterations, ((performance.now() - t1) / 1000).toFixed(1));
  }
}
