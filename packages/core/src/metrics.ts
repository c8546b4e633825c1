import { readTensors } from './read.js';
import { tf, type ImageBatch } from './tensor.js';

/** Per-image PSNR (dB), data range 1, reconstruction clipped to [0, 1]: 10 log₁₀(1 / mean((clip(x) − x*)²)). */
export async function psnrPerImage(x: ImageBatch, target: ImageBatch): Promise<number[]> {
  const [mse] = await readTensors(tf.tidy(() => tf.mean(tf.square(tf.sub(tf.clipByValue(x, 0, 1), target)), [1, 2, 3])));
  return Array.from(mse, (m) => (m > 0 ? -10 * Math.log10(m) : Infinity));
}

/** Mean over images of the per-image PSNR. */
export async function meanPsnr(x: ImageBatch, target: ImageBatch): Promise<number> {
  const v = await psnrPerImage(x, target);
  return v.reduce((a, b) => a + b, 0) / v.length;
}

function gaussianWindow(size = 11, sigma = 1.5): tf.Tensor4D {
  const r = (size - 1) / 2;
  const g = Array.from({ length: size }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)));
  const s = g.reduce((a, b) => a + b, 0);
  const w = new Float32Array(size * size);
  for (let i = 0; i < size; i++) for (let j = 0; j < size; j++) w[i * size + j] = (g[i] * g[j]) / (s * s);
  return tf.tensor4d(w, [size, size, 1, 1]);
}

/**
 * Per-image SSIM (Wang et al. 2004): 11×11 Gaussian window (σ = 1.5), K₁ = 0.01, K₂ = 0.03, data range 1,
 * reconstruction clipped to [0, 1], averaged over valid window positions.
 */
export async function ssimPerImage(x: ImageBatch, target: ImageBatch): Promise<number[]> {
  const size = Math.min(11, x.shape[1], x.shape[2]);
  const m = tf.tidy(() => {
    const w = gaussianWindow(size);
    const a = tf.clipByValue(x, 0, 1);
    const b = target;
    const f = (t: tf.Tensor4D) => tf.conv2d(t, w, 1, 'valid');
    const muA = f(a), muB = f(b);
    const sAA = tf.sub(f(tf.mul(a, a)), tf.square(muA));
    const sBB = tf.sub(f(tf.mul(b, b)), tf.square(muB));
    const sAB = tf.sub(f(tf.mul(a, b)), tf.mul(muA, muB));
    const c1 = 0.01 ** 2, c2 = 0.03 ** 2;
    const num = tf.mul(tf.add(tf.mul(2, tf.mul(muA, muB)), c1), tf.add(tf.mul(2, sAB), c2));
    const den = tf.mul(tf.add(tf.add(tf.square(muA), tf.square(muB)), c1), tf.add(tf.add(sAA, sBB), c2));
    return tf.mean(tf.div(num, den), [1, 2, 3]);
  });
  const [v] = await readTensors(m);
  return Array.from(v);
}

/** Mean over images of the per-image SSIM. */
export async function meanSsim(x: ImageBatch, target: ImageBatch): Promise<number> {
  const v = await ssimPerImage(x, target);
  return v.reduce((a, b) => a + b, 0) / v.length;
}
