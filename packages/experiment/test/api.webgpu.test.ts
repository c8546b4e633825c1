import { afterAll, describe, expect, it } from 'vitest';
import { tf, useBackend } from '@bilevel/core';
import { buildExperiment, runExperiment, useWorkers } from '@bilevel/experiment';
import { OPTIMIZERS, tinyConfig } from './optimizer-configs.js';

// The webgpu group: the programmatic API (buildExperiment + runExperiment, useWorkers) on webgpu, every optimizer on
// a tiny TV problem (4 images 16×16, 3 iterations), against the same runs on wasm in the same process.
async function learn(optimizer: string, workers = 0, options?: Record<string, unknown>): Promise<number[]> {
  const config = tinyConfig(optimizer, 3);
  const e = await buildExperiment(options ? { ...config, optimizer: { name: optimizer, options } } : config);
  if (workers) useWorkers(e, { workers, shards: 2 }); // no backend given: the workers take the active one
  const r = await runExperiment(e);
  tf.dispose([r.images.train.input, r.images.train.learned]);
  await e.dispose();
  expect(r.iterations, `${optimizer}: ${r.stopReason} ${r.message}`).toBeGreaterThan(0);
  return r.theta;
}

const relative = (a: number[], b: number[]) => Math.max(...a.map((t, i) => Math.abs(t - b[i]) / Math.max(Math.abs(b[i]), 1e-12)));

afterAll(async () => {
  await useBackend('webgpu');
});

describe('webgpu: the programmatic API, every optimizer, against wasm', () => {
  for (const name of Object.keys(OPTIMIZERS)) {
    it(`${name}: θ after 3 iterations within 1e-6 of wasm's (measured ≤ 1.2e-8)`, async () => {
      await useBackend('webgpu');
      const gpu = await learn(name);
      await useBackend('wasm');
      const wasm = await learn(name);
      await useBackend('webgpu');
      const d = relative(gpu, wasm);
      console.log(`${name}: θ webgpu ${gpu.slice(0, 2)}, wasm ${wasm.slice(0, 2)}, max relative difference ${d.toExponential(2)}`);
      expect(d).toBeLessThan(1e-6);
    });
  }

  it('useWorkers without a backend: 2 workers on the active webgpu backend give the in-process θ to 1e-4', async () => {
    await useBackend('webgpu');
    // A small given α₀: the derived one reaches the flat optimum in one step, where later accept / reject decisions
    // turn on float32 round-off, which the shards' summation order changes.
    const inProcess = await learn('maid', 0, { step0: 0.01 });
    const sharded = await learn('maid', 2, { step0: 0.01 });
    expect(relative(sharded, inProcess)).toBeLessThan(1e-4);
  });
});
