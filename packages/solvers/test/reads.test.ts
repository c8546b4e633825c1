import { describe, expect, it } from 'vitest';
import { LowerLevelProblem, readCount, runOptimizer, tf, type ImageBatch, type Oracle, type Tensor } from '@bilevel/core';
import { addGaussianNoise, syntheticImage, toBatch } from '@bilevel/datasets';
import { IdentityOperator, L2Fidelity } from '@bilevel/operators';
import { Maid } from '@bilevel/optimizers';
import { HypergradientOracle } from '@bilevel/oracles';
import { AnisotropicTV } from '@bilevel/regularizers-tv';
import { ConjugateGradient, Fista } from '../src/index.js';

// Device→host reads (core's readCount, one per readTensors call) are counted on every backend, so the read structure of
// the solvers is checked here on wasm; on webgpu each counted read is one round-trip.

/** Two generated 24×24 piecewise-smooth images, σ = 0.1, TV denoising. */
async function tvProblem() {
  const clean = toBatch([0, 1].map((i) => syntheticImage(24, 24, i)));
  const noisy = (await addGaussianNoise(clean, { type: 'gaussian', sigma: 0.1 }, 100)) as ImageBatch;
  return { problem: new LowerLevelProblem(new IdentityOperator([24, 24]), new L2Fidelity(), new AnisotropicTV(), noisy, 0), noisy, clean };
}

const fixture = await tvProblem();
const theta = [-2.5, -3];

/** Reads made by `work`, with its result. */
async function reads<T>(work: () => Promise<T>): Promise<{ n: number; result: T }> {
  const r0 = readCount();
  const result = await work();
  return { n: readCount() - r0, result };
}

/** An oracle whose evaluate/hypergradient/accuracyFloor calls are counted. */
function countingOracle(o: HypergradientOracle): { oracle: Oracle; calls: { evaluate: number; hypergradient: number; floor: number } } {
  const calls = { evaluate: 0, hypergradient: 0, floor: 0 };
  const evaluate = o.evaluate.bind(o), hypergradient = o.hypergradient.bind(o), floor = o.accuracyFloor.bind(o);
  o.evaluate = (...a) => { calls.evaluate++; return evaluate(...a); };
  o.hypergradient = (...a) => { calls.hypergradient++; return hypergradient(...a); };
  o.accuracyFloor = (...a) => { calls.floor++; return floor(...a); };
  return { oracle: o, calls };
}

describe('device→host reads (readCount)', () => {
  it('readTensors, readScalars and readVector are one read each, however many tensors', async () => {
    const { readScalars, readTensors, readVector } = await import('@bilevel/core');
    const { n } = await reads(async () => {
      await readScalars(tf.scalar(1), tf.scalar(2), tf.scalar(3));
      await readTensors(tf.zeros([4]), tf.ones([2, 2]));
      await readVector(tf.zeros([3]));
    });
    expect(n).toBe(3);
  });

  it('FISTA reads once per iteration (k iterations: k reads)', async () => {
    for (const tolerance of [1e-1, 1e-3]) {
      const { n, result } = await reads(() => new Fista().solve(fixture.problem, Float32Array.from(theta), fixture.noisy, tolerance));
      console.log(`FISTA ε = ${tolerance}: ${result.iterations} iterations, ${n} reads`);
      expect(result.iterations).toBeGreaterThan(1);
      expect(n).toBeLessThanOrEqual(result.iterations);
      result.x.dispose();
    }
  });

  it('CG reads at most once per iteration, plus one (‖b‖²)', async () => {
    const x = fixture.noisy;
    const thetaT = tf.tensor1d(theta);
    const apply = (v: Tensor) => fixture.problem.hvpX(x, thetaT, v as ImageBatch);
    const b = tf.sub(x, fixture.clean);
    const cold = await reads(() => new ConjugateGradient().solve(apply, b, undefined, 1e-5));
    // A warm start costs one product (counted as an iteration) and one read.
    const warm = await reads(() => new ConjugateGradient().solve(apply, b, tf.mul(cold.result.solution, 0.9), 1e-6));
    console.log(`CG: cold ${cold.result.iterations} iterations, ${cold.n} reads; warm ${warm.result.iterations} iterations, ${warm.n} reads`);
    for (const r of [cold, warm]) {
      expect(r.result.converged).toBe(true);
      expect(r.n).toBeLessThanOrEqual(r.result.iterations + 1);
      r.result.solution.dispose();
    }
    tf.dispose([thetaT, b]);
  });

  it('a MAID run reads at most once per lower-level + CG iteration, plus 1 per evaluation and 6 per hypergradient', async () => {
    const { oracle, calls } = countingOracle(new HypergradientOracle(fixture.problem, fixture.clean, new Fista(), new ConjugateGradient(), fixture.noisy));
    const r0 = readCount();
    let backtracks = 0;
    const run = await runOptimizer(new Maid(), oracle, Float64Array.from([-5, -5]), { budget: { maxIterations: 8 }, onIteration: (r) => { backtracks += r.backtracks; } });
    const total = readCount() - r0;
    const c = oracle.counters;
    const work = c.lowerIterations + c.cgIterations;
    // Per evaluation: g(x̃) and ‖∇g(x̃)‖ in one read. Per hypergradient: ‖b‖² in CG (a warm start's residual read is
    // counted with its product as a CG iteration), z (1), ω's probes (≤ 4: ‖q‖ with ‖x̃‖, the random direction's norm,
    // the random probe, the power probe); the adjoint value estimate's read is counted with its work. accuracyFloor ≤ 1.
    const bound = work + calls.evaluate + 6 * calls.hypergradient + calls.floor;
    const perOuter = (total - work) / run.iterations;
    console.log(`MAID ${run.iterations} outer iterations (${backtracks} backtracks): ${work} lower + CG iterations, ${calls.evaluate} evaluations, `
      + `${calls.hypergradient} hypergradients, ${calls.floor} accuracy floors; ${total} reads (counters.hostReads ${c.hostReads}), bound ${bound}; `
      + `${perOuter.toFixed(1)} reads per outer iteration beyond one per lower + CG iteration`);
    expect(run.iterations).toBe(8);
    expect(c.hostReads).toBe(total);
    expect(total).toBeLessThanOrEqual(bound);
    const s = await oracle.saveState();
    expect(s.counters.hostReads).toBe(total);
    await oracle.dispose();
  });
});
