import { afterAll, describe, expect, it } from 'vitest';
import { fusedKernels, readTensors, tf, type ImageBatch, type Tensor1D } from '@bilevel/core';
import { FieldsOfExperts } from '@bilevel/regularizers-foe';
import { randomTheta } from './theta.js';

// The webgpu group: FoE's ∇ₓR, ∇²ₓR v and the mixed product with the WGSL activation (φ′/φ″, window mask) and patch
// adjoint against the composite tfjs-op path on webgpu (relative 2-norm error ≤ 1e-4: sums over windows), both
// engines, a mirror and the 'valid' boundary (the mask), odd tiny images. Kernel-level checks: convkit's test.
const TOL = 1e-4;

describe('webgpu: FoE with the fused WGSL kernels', () => {
  afterAll(() => void (fusedKernels.enabled = true));
  it('runs on webgpu', () => expect(tf.getBackend()).toBe('webgpu'));
  for (const engine of ['patches', 'native'] as const) {
    for (const boundary of ['reflect', 'valid'] as const) {
      it(`${engine} engine, ${boundary}: gradX, hvpX, mixedVjp agree with the composite path`, async () => {
        const reg = new FieldsOfExperts({ filters: 3, size: 3, engine, boundary });
        const theta = tf.tensor1d(randomTheta(reg, 5)) as Tensor1D;
        const x = tf.randomUniform([2, 9, 7, 1], 0, 1, 'float32', 11) as ImageBatch;
        const v = tf.randomNormal([2, 9, 7, 1], 0, 1, 'float32', 12) as ImageBatch;
        const run = () => [reg.gradX(x, theta), reg.hvpX(x, theta, v), reg.mixedVjp(x, theta, v)];
        tf.dispose(run()); // warm-up: the patches engine caches its window masks (kept tensors) per shape
        const before = tf.memory().numTensors;
        const fused = await readTensors(...run());
        expect(tf.memory().numTensors, 'no leaked tensors').toBe(before);
        fusedKernels.enabled = false;
        const composite = await readTensors(...run());
        fusedKernels.enabled = true;
        fused.forEach((f, i) => {
          const c = composite[i];
          const err = Math.hypot(...f.map((a, e) => a - c[e])) / Math.hypot(...c);
          if (process.env.BILEVEL_PRINT_ERRORS) console.log(engine, boundary, i, err);
          expect(err).toBeLessThanOrEqual(TOL);
        });
        tf.dispose([theta, x, v]);
      });
    }
  }
});
