import { afterAll, describe, expect, it } from 'vitest';
import { readTensors, tf, useBackend, type ImageBatch } from '@bilevel/core';
import { dft2, disposeDft2, forward2, InpaintingOperator, KSPACE_MASKS, kspaceMask, MriOperator } from '@bilevel/operators';
import { assertConformance, operatorConformance } from '@bilevel/testing';

/** The orthonormal 2-D DFT by its definition: X̂[u, v] = Σ x[j, k] e^{−2πi(uj/h + vk/w)} / √(hw). */
function directDft(x: Float32Array, h: number, w: number): { re: Float64Array; im: Float64Array } {
  const re = new Float64Array(h * w), im = new Float64Array(h * w);
  for (let u = 0; u < h; u++) for (let v = 0; v < w; v++) {
    let a = 0, b = 0;
    for (let j = 0; j < h; j++) for (let k = 0; k < w; k++) {
      const t = -2 * Math.PI * ((u * j) / h + (v * k) / w);
      a += x[j * w + k] * Math.cos(t);
      b += x[j * w + k] * Math.sin(t);
    }
    re[u * w + v] = a / Math.sqrt(h * w);
    im[u * w + v] = b / Math.sqrt(h * w);
  }
  return { re, im };
}

const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
const measured: string[] = [];
afterAll(() => console.log(`MRI / inpainting checks:\n  ${measured.join('\n  ')}`));

/** Our transform's real and imaginary parts of x [1, h, w] on the active backend. */
async function ours(xv: Float32Array, h: number, w: number): Promise<[Float32Array, Float32Array]> {
  const d = dft2(h, w);
  const x = tf.tensor3d(xv, [1, h, w]);
  const [re, im] = forward2(d, x);
  const [rev, imv] = await readTensors(re, im);
  disposeDft2(d);
  tf.dispose([x, re, im]);
  return [rev.slice(), imv.slice()];
}

describe('MRI: the real-matrix 2-D DFT', () => {
  for (const [h, w] of [[6, 5], [8, 8], [7, 12]] as const) {
    it(`${h}×${w}: equals the DFT's definition (on the test backend) and tfjs's complex fft2 (on cpu, the backend that has it)`, async () => {
      const xv = Float32Array.from({ length: h * w }, (_, i) => Math.sin(1.3 * i) + 0.1 * (i % 7));
      const [rev, imv] = await ours(xv, h, w);
      const ref = directDft(xv, h, w);
      const errDirect = Math.max(maxAbs(rev, ref.re), maxAbs(imv, ref.im));
      // wasm registers no complex kernels: tf.fft runs on cpu (fft2 = fft over rows, then over columns).
      const backend = tf.getBackend();
      await useBackend('cpu');
      try {
        const [cr, ci] = await ours(xv, h, w);
        const [fr, fi] = await readTensors(...tf.tidy(() => {
          const xc = tf.tensor3d(xv, [1, h, w]);
          const byRows = tf.fft(tf.complex(xc, tf.zerosLike(xc)));
          const both = tf.transpose(tf.fft(tf.transpose(byRows, [0, 2, 1])), [0, 2, 1]);
          return [tf.mul(tf.real(both), 1 / Math.sqrt(h * w)), tf.mul(tf.imag(both), 1 / Math.sqrt(h * w))];
        }));
        const errFft = Math.max(maxAbs(cr, fr), maxAbs(ci, fi));
        measured.push(`DFT ${h}×${w}: max |ours − definition| ${errDirect.toExponential(2)} (${backend}), max |ours − tf.fft| ${errFft.toExponential(2)} (cpu)`);
        expect(errFft).toBeLessThan(1e-5);
      } finally {
        await useBackend(backend);
      }
      expect(errDirect).toBeLessThan(1e-5);
    });
  }
});

describe('MRI masks and operator', () => {
  for (const mask of KSPACE_MASKS) {
    it(`${mask}: samples about 1/R of k-space, the DC term always; the operator passes the conformance suite`, async () => {
      for (const acceleration of [2, 4, 8]) {
        const m = kspaceMask(64, 48, { mask, acceleration, centerFraction: 0.08, seed: 1 });
        const fraction = m.reduce((a, v) => a + v, 0) / m.length;
        measured.push(`${mask} R = ${acceleration}: sampled ${(100 * fraction).toFixed(1)} %`);
        expect(m[0]).toBe(1);
        expect(fraction).toBeGreaterThan(0.8 / acceleration);
        expect(fraction).toBeLessThan(1.3 / acceleration);
      }
      const op = new MriOperator([16, 12], kspaceMask(16, 12, { mask, acceleration: 4, centerFraction: 0.1, seed: 2 }));
      const report = operatorConformance(op);
      const adjoint = (await report).checks.find((c) => c.name.includes('adjoint'));
      measured.push(`mri ${mask} 16×12 adjoint error ${adjoint?.error.toExponential(2)}`);
      await assertConformance(report);
      op.dispose();
    });
  }

  it('full sampling: the zero-filled inverse is the image; 4× cartesian: the zero-filled inverse keeps the low frequencies only', async () => {
    const x = tf.randomUniform([2, 16, 16, 1], 0, 1, 'float32', 4) as ImageBatch;
    const full = new MriOperator([16, 16], new Uint8Array(256).fill(1));
    // readTensors frees what it reads: x is read as a copy.
    const [back, xv] = await readTensors(full.naiveReconstruction(full.apply(x)), x.clone());
    expect(maxAbs(back, xv)).toBeLessThan(1e-5);
    expect(full.minEigenvalueAtA).toBe(1);
    const under = new MriOperator([16, 16], kspaceMask(16, 16, { mask: 'cartesian', acceleration: 4, centerFraction: 0.08, seed: 0 }));
    expect(under.minEigenvalueAtA).toBe(0);
    const [zf] = await readTensors(under.naiveReconstruction(under.apply(x)));
    expect(maxAbs(zf, xv)).toBeGreaterThan(1e-2);
    tf.dispose(x);
    full.dispose();
    under.dispose();
  });
});

describe('inpainting', () => {
  it('the naive fill keeps observed pixels, fills every missing one from its neighbours, and is exact on a constant image', async () => {
    const mask = Uint8Array.from({ length: 20 * 20 }, (_, i) => (i % 3 === 0 || (i > 150 && i < 230) ? 0 : 1));
    const op = new InpaintingOperator([20, 20], mask);
    expect(op.observed).toBeGreaterThan(0.4);
    const x = tf.randomUniform([1, 20, 20, 1], 0.2, 0.8, 'float32', 5) as ImageBatch;
    const [fill, xv] = await readTensors(op.naiveReconstruction(op.apply(x)), x.clone());
    mask.forEach((m, i) => m && expect(fill[i]).toBe(xv[i]));
    expect(Array.from(fill).every((v) => v >= 0.2 - 1e-6 && v <= 0.8 + 1e-6)).toBe(true);
    const c = tf.fill([1, 20, 20, 1], 0.37) as ImageBatch;
    const [cf] = await readTensors(op.naiveReconstruction(op.apply(c)));
    expect(maxAbs(cf, new Float32Array(400).fill(0.37))).toBeLessThan(1e-6);
    tf.dispose([x, c]);
    op.dispose();
  });
});
