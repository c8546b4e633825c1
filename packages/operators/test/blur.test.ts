import { describe, expect, it } from 'vitest';
// tf.grad needs the gradients of the ops around the operator (tfjs-core alone does not register them).
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { PluginRegistry, scoped, tf, type ImageBatch, type Options } from '@bilevel/core';
import { configErrorPath } from '@bilevel/testing';
import { BlurOperator, customKernel, gaussianKernel, motionKernel, operatorPlugins, type BlurKernel, type Boundary } from '@bilevel/operators';
import { denseAdjoint, denseMatrix, gram, symmetricEigenvalues } from './dense.js';

const BOUNDARIES: Boundary[] = ['reflect', 'zero', 'periodic'];

/** Independent float64 reference: (Ax)[i,j] = Σ k[a,b] x_ext[i − (a − cr), j − (b − cc)]. */
function referenceBlur(x: Float64Array, h: number, w: number, k: BlurKernel, boundary: Boundary): Float64Array {
  const ext = (i: number, n: number): number => {
    if (boundary === 'zero') return i >= 0 && i < n ? i : -1;
    if (boundary === 'periodic') return ((i % n) + n) % n;
    // half-sample symmetric: … x1 x0 | x0 x1 … x_{n−1} | x_{n−1} x_{n−2} …
    let j = i;
    while (j < 0 || j >= n) j = j < 0 ? -j - 1 : 2 * n - 1 - j;
    return j;
  };
  const out = new Float64Array(h * w);
  for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) {
    let s = 0;
    for (let a = 0; a < k.height; a++) for (let b = 0; b < k.width; b++) {
      const r = ext(i - (a - k.centerRow), h), c = ext(j - (b - k.centerCol), w);
      if (r >= 0 && c >= 0) s += k.data[a * k.width + b] * x[r * w + c];
    }
    out[i * w + j] = s;
  }
  return out;
}

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const asymmetric = customKernel([0.1, 0.5, -0.2, 0.3, 0.05, 0.25, 0.0, 0.7, 0.15], 3);

describe('blur matches an independent float64 convolution', () => {
  const kernels: [string, BlurKernel][] = [['gaussian 5 σ1', gaussianKernel(5, 1)], ['motion 7 @ 30°', motionKernel(7, 30)], ['asymmetric 3×3', asymmetric]];
  for (const boundary of BOUNDARIES) for (const [label, k] of kernels) {
    it(`${label}, ${boundary}: apply on a batch of random images`, () => {
      const [h, w] = [9, 11];
      const op = new BlurOperator([h, w], k, boundary);
      scoped(() => {
        const x = tf.randomNormal([3, h, w, 1], 0, 1, 'float32', 4) as ImageBatch;
        const got = op.apply(x).dataSync();
        const xs = x.dataSync();
        for (let n = 0; n < 3; n++) {
          const ref = referenceBlur(Float64Array.from(xs.subarray(n * h * w, (n + 1) * h * w)), h, w, k, boundary);
          expect(maxAbs(got.subarray(n * h * w, (n + 1) * h * w), ref)).toBeLessThan(1e-5);
        }
      });
      op.dispose();
    });
  }

  it('a kernel wider than the image reflects repeatedly (reflect) and wraps (periodic)', () => {
    const k = gaussianKernel(9, 2);
    for (const boundary of ['reflect', 'periodic'] as const) {
      const op = new BlurOperator([3, 4], k, boundary);
      scoped(() => {
        const x = tf.randomNormal([1, 3, 4, 1], 0, 1, 'float32', 5) as ImageBatch;
        expect(maxAbs(op.apply(x).dataSync(), referenceBlur(Float64Array.from(x.dataSync()), 3, 4, k, boundary))).toBeLessThan(1e-5);
      });
    }
  });
});

describe('blur adjoint is the exact transpose for every boundary', () => {
  for (const boundary of BOUNDARIES) {
    it(`${boundary}: dense Aᵀ equals (dense A)ᵀ for an asymmetric kernel`, () => {
      const op = new BlurOperator([6, 7], asymmetric, boundary);
      const A = denseMatrix(op), At = denseAdjoint(op);
      let err = 0;
      for (let i = 0; i < A.rows; i++) for (let j = 0; j < A.cols; j++) err = Math.max(err, Math.abs(A.data[i * A.cols + j] - At.data[j * At.cols + i]));
      expect(err).toBeLessThan(1e-6);
    });
  }

  it('reflect: cropping the gradient (as tfjs\'s MirrorPad gradient does) is not the adjoint, ours is', () => {
    const k = asymmetric;
    const op = new BlurOperator([8, 8], k, 'reflect');
    scoped(() => {
      const y = tf.randomNormal([1, 8, 8, 1], 0, 1, 'float32', 6);
      // the same forward map through tf.mirrorPad + conv2d, differentiated by tfjs
      const f = tf.tensor4d(Float32Array.from({ length: 9 }, (_, i) => k.data[8 - i]), [3, 3, 1, 1]);
      const naive = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(tf.mirrorPad(x as tf.Tensor4D, [[0, 0], [1, 1], [1, 1], [0, 0]], 'symmetric'), f, 1, 'valid'), y)));
      const x0 = tf.zeros([1, 8, 8, 1]);
      const forwardAgrees = maxAbs(tf.conv2d(tf.mirrorPad(y as tf.Tensor4D, [[0, 0], [1, 1], [1, 1], [0, 0]], 'symmetric'), f, 1, 'valid').dataSync(), op.apply(y as ImageBatch).dataSync());
      expect(forwardAgrees).toBeLessThan(1e-5);
      const gap = maxAbs(naive(x0).dataSync(), op.adjoint(y).dataSync());
      expect(gap).toBeGreaterThan(1e-2);
    });
  });

  it('autodiff through apply gives the adjoint (tf.grad of ⟨Ax, y⟩ = Aᵀy)', () => {
    const op = new BlurOperator([10, 9], motionKernel(5, 60), 'reflect');
    scoped(() => {
      const y = tf.randomNormal([2, 10, 9, 1], 0, 1, 'float32', 7);
      const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(op.apply(x as ImageBatch), y)))(tf.zeros([2, 10, 9, 1]));
      expect(maxAbs(g.dataSync(), op.adjoint(y).dataSync())).toBeLessThan(1e-6);
    });
  });
});

describe('blur spectrum: ‖A‖² and λ_min(AᵀA)', () => {
  const cases: [string, BlurKernel, Boundary, 'exact' | 'bound' | 'zero'][] = [
    ['gaussian periodic', gaussianKernel(3, 0.8), 'periodic', 'exact'],
    ['gaussian reflect (DCT-II)', gaussianKernel(3, 0.8), 'reflect', 'exact'],
    ['gaussian zero (Toeplitz bound)', gaussianKernel(3, 0.8), 'zero', 'bound'],
    ['asymmetric reflect', asymmetric, 'reflect', 'zero'],
    ['motion periodic (zeros in the spectrum)', motionKernel(4, 0), 'periodic', 'bound'],
    ['asymmetric periodic', asymmetric, 'periodic', 'exact'],
  ];
  for (const [label, k, boundary, kind] of cases) {
    it(`${label}: reported λ_min is a lower bound${kind === 'exact' ? ' and exact' : ''}; ‖A‖² an upper estimate`, () => {
      const op = new BlurOperator([7, 8], k, boundary);
      const eig = symmetricEigenvalues(gram(denseMatrix(op)), 56);
      const lmin = Math.max(eig[0], 0), lmax = eig[eig.length - 1];
      expect(op.minEigenvalueAtA).toBeLessThanOrEqual(lmin * (1 + 1e-4) + 1e-7);
      if (kind === 'exact') expect(op.minEigenvalueAtA).toBeGreaterThan(lmin * 0.999 - 1e-7);
      if (kind === 'zero') expect(op.minEigenvalueAtA).toBe(0);
      if (kind === 'bound' && boundary === 'zero') expect(op.minEigenvalueAtA).toBeGreaterThan(0);
      expect(op.normSquared()).toBeGreaterThanOrEqual(lmax * (1 - 1e-5));
      expect(op.normSquared()).toBeLessThanOrEqual(lmax * 1.02);
    });
  }
});

describe('blur kernels', () => {
  it('gaussian: normalised, symmetric, peaked at the centre', () => {
    const k = gaussianKernel(5, 1);
    expect(k.data.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(k.data[12]).toBe(Math.max(...k.data));
    expect(k.data[0]).toBeCloseTo(k.data[24], 15);
    expect(k.data[0] / k.data[12]).toBeCloseTo(Math.exp(-4), 12);
  });

  it('motion: a normalised segment in the stated direction', () => {
    const horizontal = motionKernel(5, 0), vertical = motionKernel(5, 90), diagonal = motionKernel(5, 45);
    for (const k of [horizontal, vertical, diagonal]) expect(k.data.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    const mass = (k: BlurKernel, keep: (a: number, b: number) => boolean) => {
      let s = 0;
      for (let a = 0; a < k.height; a++) for (let b = 0; b < k.width; b++) if (keep(a, b)) s += k.data[a * k.width + b];
      return s;
    };
    const c = 3;
    expect(mass(horizontal, (a) => a === c)).toBeCloseTo(1, 12);
    expect(mass(vertical, (_, b) => b === c)).toBeCloseTo(1, 12);
    // 45° counter-clockwise with rows pointing down: up and to the right (a + b ≈ const).
    expect(mass(diagonal, (a, b) => Math.abs(a + b - 2 * c) <= 1)).toBeCloseTo(1, 12);
  });
});

describe('blur options (validated, errors name the field)', () => {
  const registry = new PluginRegistry(operatorPlugins);
  const make = (o: Options) => registry.create('operator', 'blur', o, { imageShape: [16, 16], seed: 0 }, 'operator.options');
  const fails = (o: Options, field: string) => expect(configErrorPath(() => make(o))).toBe(`operator.options.${field}`);
  it('builds each kernel kind', () => {
    expect((make({ kernel: 'gaussian', size: 5, sigma: 1 }) as BlurOperator).kernel.height).toBe(5);
    expect((make({ kernel: 'motion', length: 6, angle: 10 }) as BlurOperator).kernel.height).toBe(7);
    expect((make({ kernel: 'custom', weights: [0, 1, 0, 1, 2, 1, 0, 1, 0], boundary: 'zero' }) as BlurOperator).kernel.width).toBe(3);
    expect((make({}) as BlurOperator).boundary).toBe('reflect');
  });
  it('rejects bad values and misplaced options', () => {
    fails({ boundary: 'mirror' }, 'boundary');
    fails({ kernel: 'box' }, 'kernel');
    fails({ sigma: -1 }, 'sigma');
    fails({ size: 4.5 }, 'size');
    fails({ kernel: 'motion', sigma: 2 }, 'sigma');
    fails({ kernel: 'custom', weights: [1, 2, 3] }, 'weights');
    fails({ kernel: 'custom' }, 'weights');
    fails({ kernel: 'motion', length: 9, size: 5 }, 'size');
  });
});

describe('blur batching and hygiene', () => {
  it('a batch is blurred image by image; naive reconstruction is the measurement', () => {
    const op = new BlurOperator([12, 10], motionKernel(5, 20), 'periodic');
    scoped(() => {
      const x = tf.randomNormal([4, 12, 10, 1], 0, 1, 'float32', 9) as ImageBatch;
      const whole = op.apply(x).dataSync();
      for (let n = 0; n < 4; n++) {
        const one = op.apply(tf.slice(x, [n, 0, 0, 0], [1, 12, 10, 1]) as ImageBatch).dataSync();
        expect(maxAbs(one, whole.subarray(n * 120, (n + 1) * 120))).toBeLessThan(1e-6);
      }
      const y = op.apply(x);
      const naive = op.naiveReconstruction(y);
      expect(naive.shape).toEqual([4, 12, 10, 1]);
      expect(maxAbs(naive.dataSync(), y.dataSync())).toBe(0);
    });
  });
});
