import { afterAll, describe, expect, it } from 'vitest';
import { fusedKernels, readTensors, tf, useBackend, type ImageBatch } from '@bilevel/core';
import { fusedGradActivation, fusedHessActivation, fusedPatchAdjoint, PatchGeometry } from '@bilevel/convkit';
import { maxRelativeError, uniformValues } from '@bilevel/testing';

// The webgpu group: convkit's WGSL kernels (FoE activation φ′/φ″ with the window mask, patch adjoint) against the
// composite tfjs-op path on webgpu and the wasm fused kernel on the same inputs: max-norm relative error ≤ 1e-5
// (elementwise) and ≤ 1e-4 (the adjoint's sums of s² taps). Tiny odd sizes, windows touching every image border.
const ELEMENTWISE = 1e-5, SUMS = 1e-4;

/** n seeded values in [−scale/2, scale/2). */
const rng = (seed: number, n: number, scale = 1) => uniformValues(seed, n, -0.5 * scale, 0.5 * scale);

/** fn on the active backend from host arrays (tensors of the given shapes), read back; undefined stays undefined. */
async function on(fn: (ts: tf.Tensor[]) => tf.Tensor | undefined, arrays: [Float32Array, number[]][]): Promise<Float32Array | undefined> {
  const ts = arrays.map(([a, shape]) => tf.tensor(a, shape));
  const out = fn(ts);
  tf.dispose(ts);
  return out ? (await readTensors(out))[0] : undefined;
}

/** [webgpu fused, webgpu with fused kernels off (must be undefined), webgpu composite, wasm fused]. */
async function fourWays(fused: (ts: tf.Tensor[]) => tf.Tensor | undefined, composite: (ts: tf.Tensor[]) => tf.Tensor, arrays: [Float32Array, number[]][]) {
  const gpu = await on(fused, arrays);
  fusedKernels.enabled = false;
  const off = await on(fused, arrays);
  const comp = await on(composite, arrays);
  fusedKernels.enabled = true;
  await useBackend('wasm');
  const wasm = await on(fused, arrays);
  await useBackend('webgpu');
  expect(off, 'fusedKernels.enabled = false forces the composite path').toBeUndefined();
  expect(gpu, 'the webgpu kernel ran').toBeDefined();
  if (process.env.BILEVEL_PRINT_ERRORS) console.log('errors vs composite, wasm:', maxRelativeError(gpu!, comp!), maxRelativeError(gpu!, wasm!));
  return { gpu: gpu!, comp: comp!, wasm: wasm! };
}

/** Composite m ⊙ φ'(t) or m ⊙ φ''(t) v, r = 1/√(t² + 1). */
function compositeActivation(t: tf.Tensor, v: tf.Tensor | undefined, mask: tf.Tensor | undefined): tf.Tensor {
  return tf.tidy(() => {
    const r = tf.rsqrt(tf.add(tf.square(t), 1));
    const out = v ? tf.mul(tf.mul(tf.square(r), r), v) : tf.mul(t, r);
    return mask ? tf.mul(out, mask) : out;
  });
}

describe('webgpu: fused convkit kernels (WGSL)', () => {
  afterAll(() => void (fusedKernels.enabled = true));
  it('runs on webgpu', () => expect(tf.getBackend()).toBe('webgpu'));

  for (const [rows, K] of [[37, 5], [1, 1], [64, 3], [9, 48]]) {
    for (const second of [false, true]) {
      for (const masked of [false, true]) {
        it(`activation ${second ? "φ''" : "φ'"} ${rows}×${K}${masked ? ' masked' : ''}`, async () => {
          const t = rng(rows * K + 1, rows * K, 8), v = rng(rows * K + 2, rows * K, 2);
          const mask = Float32Array.from(rng(rows + 3, rows), (u) => (u > 0 ? 1 : 0));
          const arrays: [Float32Array, number[]][] = [[t, [rows, K]], ...(second ? [[v, [rows, K]] as [Float32Array, number[]]] : []), ...(masked ? [[mask, [rows, 1]] as [Float32Array, number[]]] : [])];
          const split = (ts: tf.Tensor[]) => ({ t: ts[0], v: second ? ts[1] : undefined, m: masked ? ts[ts.length - 1] : undefined });
          const fused = (ts: tf.Tensor[]) => {
            const { t: tt, v: vv, m } = split(ts);
            return vv ? fusedHessActivation(tt, vv, m) : fusedGradActivation(tt, m);
          };
          const { gpu, comp, wasm } = await fourWays(fused, (ts) => compositeActivation(split(ts).t, split(ts).v, split(ts).m), arrays);
          expect(maxRelativeError(gpu, comp)).toBeLessThanOrEqual(ELEMENTWISE);
          expect(maxRelativeError(gpu, wasm)).toBeLessThanOrEqual(ELEMENTWISE);
          if (masked) gpu.forEach((g, e) => { if (mask[Math.floor(e / K)] === 0) expect(g).toBe(0); });
        });
      }
    }
  }

  for (const [n, h, w, s] of [[2, 9, 7, 3], [1, 5, 5, 5], [1, 6, 4, 1], [3, 8, 11, 4]]) {
    it(`patch adjoint ${n}×${h}×${w}, s = ${s}`, async () => {
      const M = n * (h + 2) * w;
      const geometry = PatchGeometry.for([n, h, w, 1], s);
      const [maskCol] = await readTensors(tf.clone(geometry.maskCol));
      // T vanishes off the valid windows (the composite shift-sum assumes it).
      const T = rng(M + s, M * s * s).map((u, e) => u * maskCol[Math.floor(e / (s * s))]);
      const fused = (ts: tf.Tensor[]) => fusedPatchAdjoint<ImageBatch>(ts[0], n, h, w, s);
      const composite = (ts: tf.Tensor[]) => PatchGeometry.for([n, h, w, 1], s).adjointSum(ts[0]);
      const { gpu, comp, wasm } = await fourWays(fused, composite, [[T, [M, s * s]]]);
      expect(maxRelativeError(gpu, comp)).toBeLessThanOrEqual(SUMS);
      expect(maxRelativeError(gpu, wasm)).toBeLessThanOrEqual(SUMS);
    });
  }

  it('leaves no tensors or backend buffers behind', async () => {
    const t = tf.randomNormal([20, 4], 0, 2, 'float32', 1), v = tf.randomNormal([20, 4], 0, 1, 'float32', 2);
    const m = tf.tensor2d(Array.from({ length: 20 }, (_, r) => r % 3 ? 1 : 0), [20, 1]);
    const T = tf.randomNormal([2 * 7 * 5, 9], 0, 1, 'float32', 3);
    const before = tf.memory().numTensors, ids = tf.engine().backend.numDataIds();
    for (let k = 0; k < 3; k++) {
      await readTensors(fusedGradActivation(t, m)!, fusedHessActivation(t, v, m)!, fusedHessActivation(t, v, undefined)!, fusedPatchAdjoint(T, 2, 5, 5, 3)!);
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(tf.engine().backend.numDataIds()).toBe(ids);
    tf.dispose([t, v, m, T]);
  });
});
