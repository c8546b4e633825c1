import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
// tf.grad needs the gradients of the ops around the operator (tfjs-core alone does not register them).
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { meanPsnr, PluginRegistry, scoped, tf, type ImageBatch, type Options } from '@bilevel/core';
import { configErrorPath } from '@bilevel/testing';
import { dataSettings, ellipseLineIntegrals, ellipsePhantom, ensureDataset, loadPng, MODIFIED_SHEPP_LOGAN, sheppLogan, toBatch, type Ellipse } from '@bilevel/datasets';
import { detectorPositions, fbpAngleWeights, filterKernel, operatorPlugins, radonGeometry, RadonOperator, type RadonGeometryOptions } from '@bilevel/operators';
import { denseMatrix, gram, symmetricEigenvalues } from './dense.js';

const results: string[] = [];
afterAll(() => {
  if (results.length) console.log(results.join('\n'));
});

function relativeError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let num = 0, den = 0;
  for (let i = 0; i < want.length; i++) {
    num += (got[i] - want[i]) ** 2;
    den += want[i] ** 2;
  }
  return Math.sqrt(num / den);
}

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Relative L2 error of the discrete Radon transform of a rasterised ellipse set against its exact line integrals. */
function analyticError(ellipses: Ellipse[], size: number, o: RadonGeometryOptions): number {
  const img = ellipsePhantom(ellipses, size, size, { supersample: 4, clip: false });
  const g = radonGeometry(size, size, o);
  const op = new RadonOperator(g);
  const y = scoped(() => op.apply(toBatch([img])).dataSync());
  op.dispose();
  // phantom units: [−1, 1] spans `size` pixels, so t = s·2/size and a length of 1 is size/2 pixels.
  const ref = ellipseLineIntegrals(ellipses, g.angles, Array.from(detectorPositions(g), (s) => (s * 2) / size)).map((v) => (v * size) / 2);
  return relativeError(y, ref);
}

describe('radon matches analytic line integrals (256 detectors)', () => {
  it('centred disk, 256×256 image, 90 angles: ≤ 1% relative L2', () => {
    const err = analyticError([{ intensity: 1, a: 0.6, b: 0.6, x0: 0, y0: 0, phi: 0 }], 256, { angles: 90, detectors: 256 });
    results.push(`analytic centred disk (256², 90 angles, 256 detectors): relative L2 error ${err.toExponential(3)}`);
    expect(err).toBeLessThan(0.01);
  });
  it('off-centre rotated ellipse, 256×256 image, 90 angles: ≤ 1% relative L2', () => {
    const err = analyticError([{ intensity: 1, a: 0.7, b: 0.35, x0: 0.12, y0: -0.2, phi: 30 }], 256, { angles: 90, detectors: 256 });
    results.push(`analytic ellipse (256², 90 angles, 256 detectors): relative L2 error ${err.toExponential(3)}`);
    expect(err).toBeLessThan(0.01);
  });
  it('disk on 128×128 with 256 detectors at half-pixel spacing over 120°: ≤ 1%', () => {
    const err = analyticError([{ intensity: 0.5, a: 0.5, b: 0.5, x0: 0, y0: 0, phi: 0 }], 128, { angles: 40, angleRange: 120, detectors: 256, detectorSpacing: 0.5 });
    results.push(`analytic centred disk (128², 40 angles over 120°, 256 detectors × 0.5 px): relative L2 error ${err.toExponential(3)}`);
    expect(err).toBeLessThan(0.01);
  });
});

describe('filtered back-projection', () => {
  const fbpPsnr = async (image: ImageBatch, o: RadonGeometryOptions) => {
    const op = new RadonOperator(radonGeometry(128, 128, o));
    const rec = tf.tidy(() => op.fbp(op.apply(image)));
    const psnr = await meanPsnr(rec, image);
    rec.dispose();
    op.dispose();
    return psnr;
  };

  it('noiseless modified Shepp–Logan 128×128, 180 angles, 1.5× detector oversampling: PSNR ≥ 28 dB', async () => {
    const x = toBatch([sheppLogan(128)]);
    const psnr = await fbpPsnr(x, { angles: 180, detectorSpacing: 2 / 3 });
    x.dispose();
    results.push(`FBP Shepp–Logan 128² (point-sampled), 180 angles, 272 detectors × 2/3 px: PSNR ${psnr.toFixed(2)} dB`);
    expect(psnr).toBeGreaterThanOrEqual(28);
  });

  it('anti-aliased Shepp–Logan 128×128, 180 angles, one detector per pixel: PSNR ≥ 28 dB', async () => {
    const x = toBatch([sheppLogan(128, 128, { supersample: 4 })]);
    const psnr = await fbpPsnr(x, { angles: 180 });
    x.dispose();
    results.push(`FBP Shepp–Logan 128² (4×4 supersampled), 180 angles, 182 detectors × 1 px: PSNR ${psnr.toFixed(2)} dB`);
    expect(psnr).toBeGreaterThanOrEqual(28);
  });

  it('the CT_SheppLogan 128 PNG (data set "shepp-logan"), 180 angles, 1.5× oversampling: PSNR ≥ 28 dB', async () => {
    // Generated here with the pixels of ../shared/data/CT_SheppLogan (checked by SHA-256), or copied from BILEVEL_DATA_MIRROR.
    const { files } = await ensureDataset('shepp-logan', {}, dataSettings({ cacheDir: mkdtempSync(join(tmpdir(), 'bilevel-data-')) }));
    const x = toBatch([loadPng(files.find((f) => f.endsWith('_128.png'))!)]);
    const psnr = await fbpPsnr(x, { angles: 180, detectorSpacing: 2 / 3 });
    x.dispose();
    expect(psnr).toBeGreaterThanOrEqual(28);
  });

  it('FBP of an analytic sinogram recovers the phantom\'s values (scale and units, pixel size 1/64)', async () => {
    const g = radonGeometry(128, 128, { angles: 180, detectorSpacing: 0.5, pixelSize: 1 / 64 });
    const op = new RadonOperator(g);
    // phantom units: a length of 1 on [−1, 1]² is 64 pixels = 1 in the operator's length unit.
    const sino = ellipseLineIntegrals(MODIFIED_SHEPP_LOGAN, g.angles, Array.from(detectorPositions(g), (s) => s / 64));
    const x = toBatch([sheppLogan(128)]);
    const rec = tf.tidy(() => op.fbp(tf.tensor3d(Float32Array.from(sino), [1, g.angles.length, g.detectors])));
    const psnr = await meanPsnr(rec, x);
    tf.dispose([rec, x]);
    op.dispose();
    expect(psnr).toBeGreaterThan(26);
  });

  it('ramp kernel has frequency response |f|; windows stay below it and vanish as designed', () => {
    const ramp = filterKernel(100, 'ramp');
    const P = ramp.length;
    const response = (k: Float64Array, f: number) => k.reduce((s, v, i) => s + v * Math.cos(2 * Math.PI * f * (i <= P / 2 ? i : i - P)), 0);
    for (const f of [0.05, 0.1, 0.25, 0.4, 0.45]) expect(Math.abs(response(ramp, f) - f)).toBeLessThan(5e-3);
    const hann = filterKernel(100, 'hann'), cosine = filterKernel(100, 'cosine'), sl = filterKernel(100, 'shepp-logan');
    expect(Math.abs(response(hann, 0.5))).toBeLessThan(1e-9);
    expect(Math.abs(response(cosine, 0.5))).toBeLessThan(1e-9);
    for (const f of [0.1, 0.3]) for (const k of [hann, cosine, sl]) expect(response(k, f)).toBeLessThan(response(ramp, f));
    expect(response(sl, 0.5)).toBeCloseTo((response(ramp, 0.5) * 2) / Math.PI, 9);
    expect(P).toBeGreaterThanOrEqual(200);
  });

  it('angular weights: π over a full half-circle, the covered range for limited angles', () => {
    const full = radonGeometry(8, 8, { angles: 60 }).angles;
    expect(fbpAngleWeights(full).reduce((a, b) => a + b, 0)).toBeCloseTo(Math.PI, 10);
    const limited = radonGeometry(8, 8, { angles: 20, angleRange: 120 }).angles;
    expect(fbpAngleWeights(limited).reduce((a, b) => a + b, 0)).toBeCloseTo((120 * Math.PI) / 180, 10);
    const listed = [0, 10, 20, 200].map((d) => (d * Math.PI) / 180);
    expect(fbpAngleWeights(listed).every((w) => w > 0)).toBe(true);
  });
});

describe('radon geometry conventions', () => {
  it('θ = 0 sums columns, θ = 90° sums rows (bottom row first); pixelSize scales line integrals', () => {
    const [h, w] = [6, 5];
    scoped(() => {
      const x = tf.randomUniform([1, h, w, 1], 0, 1, 'float32', 3) as ImageBatch;
      const v = x.dataSync();
      const cols = new Op({ angleList: [0], detectors: w }, h, w).apply(x).dataSync();
      for (let c = 0; c < w; c++) {
        let s = 0;
        for (let r = 0; r < h; r++) s += v[r * w + c];
        expect(cols[c]).toBeCloseTo(s, 5);
      }
      const rows = new Op({ angleList: [90], detectors: h, pixelSize: 0.5 }, h, w).apply(x).dataSync();
      for (let r = 0; r < h; r++) {
        let s = 0;
        for (let c = 0; c < w; c++) s += v[r * w + c];
        expect(rows[h - 1 - r]).toBeCloseTo(0.5 * s, 5);
      }
    });
  });

  it('a batch is projected image by image; autodiff through apply gives the adjoint', () => {
    const op = new RadonOperator(radonGeometry(14, 12, { angles: 17, detectors: 21 }));
    scoped(() => {
      const x = tf.randomNormal([3, 14, 12, 1], 0, 1, 'float32', 8) as ImageBatch;
      const whole = op.apply(x).dataSync();
      const m = 17 * 21;
      for (let n = 0; n < 3; n++) {
        const one = op.apply(tf.slice(x, [n, 0, 0, 0], [1, 14, 12, 1]) as ImageBatch).dataSync();
        expect(maxAbs(one, whole.subarray(n * m, (n + 1) * m))).toBeLessThan(1e-5);
      }
      const y = tf.randomNormal([3, 17, 21], 0, 1, 'float32', 9);
      const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(op.apply(t as ImageBatch), y)))(tf.zeros([3, 14, 12, 1]));
      expect(maxAbs(g.dataSync(), op.adjoint(y).dataSync())).toBeLessThan(1e-5);
      expect(maxAbs(op.naiveReconstruction(y).dataSync(), op.fbp(y).dataSync())).toBe(0);
    });
    op.dispose();
  });

  it('‖A‖² brackets the dense λ_max; λ_min(AᵀA) is reported as 0', () => {
    const op = new RadonOperator(radonGeometry(7, 6, { angles: 5, detectors: 6 }));
    const eig = symmetricEigenvalues(gram(denseMatrix(op)), 42);
    const lmax = eig[eig.length - 1];
    expect(eig[0]).toBeLessThan(1e-6 * lmax);
    expect(op.minEigenvalueAtA).toBe(0);
    expect(op.normSquared()).toBeGreaterThanOrEqual(lmax);
    expect(op.normSquared()).toBeLessThanOrEqual(1.02 * lmax);
  });
});

class Op extends RadonOperator {
  constructor(o: RadonGeometryOptions, h: number, w: number) {
    super(radonGeometry(h, w, o));
  }
}

describe('radon options (validated, errors name the field)', () => {
  const registry = new PluginRegistry(operatorPlugins);
  const make = (o: Options) => registry.create('operator', 'radon', o, { imageShape: [32, 24], seed: 0 }, 'operator.options') as RadonOperator;
  const fails = (o: Options, field: string) => expect(configErrorPath(() => make(o))).toBe(`operator.options.${field}`);
  it('defaults: 180 angles over 180°, ⌈diagonal⌉ unit-spaced detectors, ramp filter', () => {
    const op = make({});
    expect(op.rangeShape).toEqual([180, 40]);
    expect(op.geometry.angles[179]).toBeCloseTo((179 * Math.PI) / 180, 12);
    expect(op.filter).toBe('ramp');
    const limited = make({ angles: 10, angleRange: 90, angleStart: 45, detectorSpacing: 2, filter: 'hann' });
    expect(limited.rangeShape).toEqual([10, 20]);
    expect(limited.geometry.angles[0]).toBeCloseTo(Math.PI / 4, 12);
    expect(make({ angleList: [0, 30, 60] }).rangeShape).toEqual([3, 40]);
  });
  it('rejects bad values and contradictory angles', () => {
    fails({ angleList: [0, 90], angles: 4 }, 'angles');
    fails({ angleList: [] }, 'angleList');
    fails({ angles: 0 }, 'angles');
    fails({ angles: 12.5 }, 'angles');
    fails({ detectors: 0 }, 'detectors');
    fails({ detectorSpacing: -1 }, 'detectorSpacing');
    fails({ filter: 'ram-lak' }, 'filter');
    fails({ angle: 3 }, 'angle');
  });
});
