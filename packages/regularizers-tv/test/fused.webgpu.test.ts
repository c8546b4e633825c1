import { afterAll, describe, expect, it } from 'vitest';
import { fusedKernels, readTensors, tf, useBackend, type ImageBatch, type Tensor1D } from '@bilevel/core';
import { AnisotropicTV } from '@bilevel/regularizers-tv';
import { fusedTvGrad, fusedTvHvp } from '../src/fused.js';
import { maxRelativeError, uniformValues } from '@bilevel/testing';

// The webgpu group: the WGSL TV gradient and HVP against the composite tfjs-op path on webgpu and against the
// wasm fused kernel on the same inputs (max-norm relative error ≤ 1e-5), at odd sizes and degenerate borders.
const SHAPES: [number, number, number][] = [[3, 20, 17], [1, 1, 7], [2, 9, 1], [1, 1, 1], [1, 2, 2]];
const THETAS = [[-1.5, -3], [0.5, -1]];
const TOL = 1e-5;

/** n seeded values in [−scale/2, scale/2). */
const rng = (seed: number, n: number, scale = 1) => uniformValues(seed, n, -0.5 * scale, 0.5 * scale);

type Op = 'grad' | 'hvp';

/** The op on the active backend from host arrays; `fused` picks the fused runner (undefined if absent) or the regularizer (composite when fused kernels are off). */
async function evaluate(op: Op, shape: number[], xs: Float32Array, vs: Float32Array, th: number[], fused: boolean): Promise<Float32Array | undefined> {
  const x = tf.tensor4d(xs, [shape[0], shape[1], shape[2], 1]) as ImageBatch;
  const v = tf.tensor4d(vs, x.shape) as ImageBatch;
  const theta = tf.tensor1d(th) as Tensor1D;
  const reg = new AnisotropicTV();
  const out = fused ? (op === 'grad' ? fusedTvGrad(x, theta) : fusedTvHvp(x, v, theta)) : op === 'grad' ? reg.gradX(x, theta) : reg.hvpX(x, theta, v);
  tf.dispose([x, v, theta]);
  if (!out) return undefined;
  const [values] = await readTensors(out);
  return values;
}

async function compare(op: Op, shape: [number, number, number], th: number[]): Promise<void> {
  const size = shape[0] * shape[1] * shape[2];
  const xs = rng(11 + size, size), vs = rng(29 + size, size, 2);
  const gpu = await evaluate(op, shape, xs, vs, th, true);
  fusedKernels.enabled = false;
  const off = await evaluate(op, shape, xs, vs, th, true);
  const composite = await evaluate(op, shape, xs, vs, th, false);
  fusedKernels.enabled = true;
  await useBackend('wasm');
  const wasm = await evaluate(op, shape, xs, vs, th, true);
  await useBackend('webgpu');
  expect(off, 'fusedKernels.enabled = false forces the composite path').toBeUndefined();
  expect(gpu, 'the webgpu kernel ran').toBeDefined();
  if (process.env.BILEVEL_PRINT_ERRORS) console.log(op, shape.join("x"), maxRelativeError(gpu!, composite!), maxRelativeError(gpu!, wasm!));
  expect(maxRelativeError(gpu!, composite!)).toBeLessThanOrEqual(TOL);
  expect(maxRelativeError(gpu!, wasm!)).toBeLessThanOrEqual(TOL);
}

describe('webgpu: fused TV kernels (WGSL)', () => {
  afterAll(() => void (fusedKernels.enabled = true));
  it('runs on webgpu', () => expect(tf.getBackend()).toBe('webgpu'));
  for (const op of ['grad', 'hvp'] as const) {
    for (const shape of SHAPES) {
      it(`${op} ${shape.join('×')}: WGSL = composite = wasm fused`, async () => {
        for (const th of THETAS) await compare(op, shape, th);
      });
    }
  }

  it('leaves no tensors or backend buffers behind', async () => {
    const x = tf.randomUniform([2, 5, 6, 1], 0, 1, 'float32', 1) as ImageBatch;
    const v = tf.randomNormal([2, 5, 6, 1], 0, 1, 'float32', 2) as ImageBatch;
    const theta = tf.tensor1d([-1, -2]) as Tensor1D;
    const before = tf.memory().numTensors, ids = tf.engine().backend.numDataIds();
    for (let k = 0; k < 3; k++) {
      const g = fusedTvGrad(x, theta)!, h = fusedTvHvp(x, v, theta)!;
      await readTensors(g, h);
      tf.dispose([g, h]);
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(tf.engine().backend.numDataIds()).toBe(ids);
    tf.dispose([x, v, theta]);
  });
});
