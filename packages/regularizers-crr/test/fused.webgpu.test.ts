import { afterAll, describe, expect, it } from 'vitest';
import { fusedKernels, readTensors, tf, useBackend } from '@bilevel/core';
import { evaluateSpline, splineTables, type SplineKind } from '@bilevel/regularizers-crr';
import { maxRelativeError, uniformValues } from '@bilevel/testing';

// The webgpu group: the WGSL spline kernel (σ, σ', ψ one thread per response; the slope gradient by block partial
// sums) against the tf.gather path on webgpu and the wasm fused kernel on the same inputs: max-norm relative error
// ≤ 1e-5 for σ, σ', ψ and ≤ 1e-4 for the slope gradient (a sum over all responses). Responses run past both ends.
const ELEMENTWISE = 1e-5, SUMS = 1e-4;
const OUTPUTS = ['sigma', 'slope', 'psi', 'slopeGradient'] as const;

interface Case { kind: SplineKind; C: number; J: number; rows: number; D: number }

/**
 * tfjs-backend-webgpu 4.22 bakes a cumsum's last-dimension length into its exclusive/reverse shader but caches the
 * pipeline by a key without it: after a cumsum over another length, tf.cumsum(h, 1, true, true) (the gather path's
 * `above`) is wrong. The reference path drops those cached pipelines first.
 */
function dropCumsumPipelines(): void {
  const cache = (tf.backend() as unknown as { pipelineCache?: Record<string, unknown> }).pipelineCache ?? {};
  for (const key of Object.keys(cache)) if (key.startsWith('cum_')) delete cache[key];
}

/** The four outputs on the active backend, fused (`js`) or by tf.gather. */
async function outputs(c: Case, js: boolean): Promise<Float32Array[]> {
  const { kind, C, J, rows, D } = c;
  if (!js) dropCumsumPipelines();
  const results = tf.tidy(() => {
    const T = splineTables(kind, tf.tensor1d(uniformValues(C * J, C * J, -2, 1)), C, J, D);
    const a = tf.tensor2d(uniformValues(rows * C + 7, rows * C, -2, J + 2), [rows, C]);
    const w = tf.tensor2d(uniformValues(rows * C + 9, rows * C, -1, 1), [rows, C]);
    const ev = evaluateSpline(kind, T, a, D, js);
    return [ev.sigma(), ev.slope(), ev.psi(), ev.slopeGradient(w)];
  });
  return readTensors(...results);
}

const CASES: Case[] = [];
for (const kind of ['linear', 'smooth'] as const) {
  CASES.push({ kind, C: 3, J: 6, rows: 37, D: 0.1 }, { kind, C: 1, J: 4, rows: 1, D: 0.5 }, { kind, C: 2, J: 8, rows: 300, D: 0.25 });
}

describe('webgpu: fused CRR spline (WGSL)', () => {
  afterAll(() => void (fusedKernels.enabled = true));
  it('runs on webgpu', () => expect(tf.getBackend()).toBe('webgpu'));
  for (const c of CASES) {
    it(`${c.kind}, C = ${c.C}, J = ${c.J}, ${c.rows} rows: WGSL = tf.gather = wasm fused`, async () => {
      const gpu = await outputs(c, true), gather = await outputs(c, false);
      await useBackend('wasm');
      const wasm = await outputs(c, true);
      await useBackend('webgpu');
      OUTPUTS.forEach((name, i) => {
        const tol = name === 'slopeGradient' ? SUMS : ELEMENTWISE;
        if (process.env.BILEVEL_PRINT_ERRORS) console.log(c.kind, c.rows, name, maxRelativeError(gpu[i], gather[i]), maxRelativeError(gpu[i], wasm[i]));
        expect(maxRelativeError(gpu[i], gather[i]), `${name} vs tf.gather`).toBeLessThanOrEqual(tol);
        expect(maxRelativeError(gpu[i], wasm[i]), `${name} vs wasm fused`).toBeLessThanOrEqual(tol);
      });
    });
  }

  it('fusedKernels.enabled = false takes the tf.gather path (no spline kernel runs)', async () => {
    const c = CASES[0];
    const gather = await outputs(c, false);
    fusedKernels.enabled = false;
    const kernels: string[] = [];
    const profile = await tf.profile(async () => tf.dispose(tf.tidy(() => {
      const T = splineTables(c.kind, tf.tensor1d(uniformValues(c.C * c.J, c.C * c.J, -2, 1)), c.C, c.J, c.D);
      return evaluateSpline(c.kind, T, tf.tensor2d(uniformValues(c.rows * c.C + 7, c.rows * c.C, -2, c.J + 2), [c.rows, c.C]), c.D, true).psi();
    })));
    const off = await outputs(c, true);
    fusedKernels.enabled = true;
    kernels.push(...profile.kernelNames);
    expect(kernels).not.toContain('BilevelCrrSpline');
    expect(kernels).toContain('GatherV2');
    // The same path twice agrees to round-off: lavapipe's threads may change a sum's order between runs (5.9e-8 seen once).
    OUTPUTS.forEach((name, i) => expect(maxRelativeError(off[i], gather[i]), name).toBeLessThanOrEqual(1e-6));
  });

  it('leaves no tensors or backend buffers behind', async () => {
    const c = CASES[4];
    await outputs(c, true); // warm-up
    const before = tf.memory().numTensors, ids = tf.engine().backend.numDataIds();
    for (let k = 0; k < 2; k++) await outputs(c, true);
    expect(tf.memory().numTensors).toBe(before);
    expect(tf.engine().backend.numDataIds()).toBe(ids);
  });
});
