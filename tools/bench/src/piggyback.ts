import { tf, type ImageBatch } from '@bilevel/core';
import { addGaussianNoise, syntheticImage, toBatch } from '@bilevel/datasets';
import { ConvOperatorFamily, PiggybackOracle } from '@bilevel/oracles';
import { cpuMedianMs, measure, type BenchRecord } from './harness.js';

/**
 * Inexact piggyback on the example's size (8 images of 96×96, learned 5×5 filters in 8 groups, `init: diverse`):
 * - piggyback.applyAdjoint.8x96x96: K x then Kᵀ y (apply and adjoint alone as extra fields);
 * - piggyback.iteration.8x96x96: milliseconds per PDHG iteration of a forward solve to ε = 10⁻³ from the cold start,
 *   and per joint (forward + adjoint) iteration of the hypergradient that follows (δ = 10⁻³), certificates included.
 */
export async function benchPiggyback(o: { runs?: number } = {}): Promise<BenchRecord[]> {
  const runs = o.runs ?? 15;
  const family = new ConvOperatorFamily('learned', 5, 8, undefined, 0.07);
  const theta = family.initialLearnedTheta(0.1, 0, 0.05, 'diverse');
  const K = await family.bind(theta);
  const clean = toBatch(Array.from({ length: 8 }, (_, i) => syntheticImage(96, 96, i)));
  const noisy = (await addGaussianNoise(clean, { type: 'gaussian', sigma: 0.1 }, 0)) as ImageBatch;
  const y = tf.keep(K.apply(noisy)) as tf.Tensor4D;
  const apply = await measure('piggyback.apply.8x96x96', () => K.apply(noisy), { runs });
  const adjoint = await measure('piggyback.adjoint.8x96x96', () => K.adjoint(y), { runs });
  const pair = () => tf.tidy(() => K.adjoint(K.apply(noisy)));
  const out: BenchRecord[] = [await measure('piggyback.applyAdjoint.8x96x96', pair, {
    runs, extra: { cpuMs: cpuMedianMs(pair, runs), filters: '5×5', groups: 8, applyMs: apply.medianMs, adjointMs: adjoint.medianMs },
  })];
  tf.dispose(y);
  K.dispose();

  const oracle = new PiggybackOracle(family, noisy, clean);
  const t0 = performance.now();
  const ev = await oracle.evaluate(theta, 1e-3);
  const forwardMs = (performance.now() - t0) / ev.lower.iterations;
  const t1 = performance.now();
  const hg = await oracle.hypergradient(theta, 1e-3, 1e-3, ev);
  const jointMs = (performance.now() - t1) / hg.stats.cgIterations;
  out.push({
    name: 'piggyback.iteration.8x96x96', backend: tf.getBackend(), medianMs: +forwardMs.toFixed(3), runs: ev.lower.iterations,
    jointMs: +jointMs.toFixed(3), jointIterations: hg.stats.cgIterations, epsilon: 1e-3, delta: 1e-3,
  });
  oracle.release(ev);
  await oracle.dispose();
  tf.dispose([clean, noisy]);
  return out;
}
