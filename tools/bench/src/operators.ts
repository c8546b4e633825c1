import { tf, type ImageBatch } from '@bilevel/core';
import { BlurOperator, BOUNDARIES, gaussianKernel, radonGeometry, RadonOperator } from '@bilevel/operators';
import { cpuMedianMs, measure, type BenchRecord } from './harness.js';

/**
 * Forward-operator figures (issue 3):
 * - radon.applyAdjoint.256: y = A x then Aᵀ y for one 256×256 image, 180 angles over 180°, 363 detectors
 *   (bar ≤ 150 ms on wasm); the one-off build of the projector's index structure is reported as setupMs,
 *   and apply / adjoint / FBP alone as extra fields;
 * - blur.applyAdjoint.24x96x96: Gaussian 5×5, σ = 1, reflect boundary, 24 images of 96×96; the other
 *   boundaries are reported as extra fields.
 * Each figure also carries cpuMs, the median CPU time of the process per run (robust to a shared machine).
 */
export async function benchOperators(o: { runs?: number } = {}): Promise<BenchRecord[]> {
  const runs = o.runs ?? 15;
  const out: BenchRecord[] = [];

  const t0 = performance.now();
  const radon = new RadonOperator(radonGeometry(256, 256, { angles: 180, detectors: 363 }));
  const x = tf.keep(tf.randomUniform([1, 256, 256, 1], 0, 1, 'float32', 1)) as ImageBatch;
  const y = tf.keep(radon.apply(x));
  tf.dispose(radon.adjoint(y));
  const setupMs = performance.now() - t0;
  const apply = await measure('radon.apply.256', () => radon.apply(x), { runs });
  const adjoint = await measure('radon.adjoint.256', () => radon.adjoint(y), { runs });
  const fbp = await measure('radon.fbp.256', () => radon.fbp(y), { runs: Math.max(3, Math.floor(runs / 3)) });
  const pair = () => tf.tidy(() => radon.adjoint(radon.apply(x)));
  const cpuMs = cpuMedianMs(pair, runs);
  out.push(await measure('radon.applyAdjoint.256', pair, {
    runs,
    extra: {
      cpuMs,
      image: [256, 256], angles: 180, detectors: 363, batch: 1, entries: radon.entries, barMs: 150,
      setupMs: +setupMs.toFixed(1), applyMs: apply.medianMs, adjointMs: adjoint.medianMs, fbpMs: fbp.medianMs,
    },
  }));
  tf.dispose([x, y]);
  radon.dispose();

  const xb = tf.keep(tf.randomUniform([24, 96, 96, 1], 0, 1, 'float32', 2)) as ImageBatch;
  const perBoundary: Record<string, number> = {};
  let reflect: BenchRecord | undefined;
  for (const boundary of BOUNDARIES) {
    const blur = new BlurOperator([96, 96], gaussianKernel(5, 1), boundary);
    const pair = () => tf.tidy(() => blur.adjoint(blur.apply(xb)));
    const r = await measure(`blur.applyAdjoint.24x96x96.${boundary}`, pair, { runs, extra: { cpuMs: cpuMedianMs(pair, runs) } });
    perBoundary[`${boundary}Ms`] = r.medianMs;
    perBoundary[`${boundary}CpuMs`] = r.cpuMs as number;
    if (boundary === 'reflect') reflect = r;
    blur.dispose();
  }
  tf.dispose(xb);
  out.push({ ...reflect!, name: 'blur.applyAdjoint.24x96x96', kernel: 'gaussian 5×5 σ=1', boundary: 'reflect', ...perBoundary });
  return out;
}
