import { describe, expect, it } from 'vitest';
import { readScalars, tf } from '@bilevel/core';
import { POWER_PROBE_WORK, PROBE_WORK } from '@bilevel/oracles';
import { boundAndError, smallTvOracle, upperValue } from './fixtures.js';

const theta = [-2.5, -2.5];

/** Central differences of f with Richardson extrapolation: (4 D(h/2) − D(h)) / 3. */
async function fdGradient(f: (t: number[]) => Promise<number>, t: number[], h: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < t.length; i++) {
    const c = async (s: number) => {
      const p = [...t], m = [...t];
      p[i] += s;
      m[i] -= s;
      return ((await f(p)) - (await f(m))) / (2 * s);
    };
    const ch2 = await c(h / 2);
    out.push((4 * ch2 - (await c(h))) / 3);
  }
  return out;
}

describe('hypergradient oracle (TV denoising, 2 images 24×24)', async () => {
  it('agrees with central finite differences of f(θ) to relative error ≤ 1e-3 at tight accuracy', async () => {
    const oracle = await smallTvOracle();
    const hg = await oracle.hypergradient(Float64Array.from(theta), 1e-5, 1e-7);
    oracle.release(hg.evaluation);
    const fd = await fdGradient((t) => upperValue(oracle, t, 1e-5), theta, 0.05);
    const err = Math.hypot(...fd.map((g, i) => g - hg.grad[i])) / Math.hypot(...fd);
    console.log(`hypergradient ${Array.from(hg.grad)} vs FD ${fd}: relative error ${err.toExponential(2)}`);
    expect(err).toBeLessThanOrEqual(1e-3);
    await oracle.dispose();
  });

  it('the a-posteriori bound ω is at least the measured error for every (ε, δ) checked', async () => {
    const cases: [number, number][] = [[1e-1, 1e-1], [3e-2, 3e-2], [1e-2, 1e-2], [1e-3, 1e-3], [1e-1, 1e-3], [1e-3, 1e-1], [3e-1, 1e-2]];
    for (const { epsilon, delta, error, omega } of await boundAndError(Float64Array.from(theta), cases)) {
      console.log(`ε ${epsilon} δ ${delta}: error ${error.toExponential(2)} ≤ ω ${omega.toExponential(2)}`);
      expect(omega).toBeGreaterThanOrEqual(error);
    }
  });

  it('the adjoint-corrected value g(x̃) − ⟨q̃, ∇ₓh(x̃)⟩ is within its bound of f(θ), and far closer than g(x̃)', async () => {
    for (const at of [theta, [-2, -4], [-3, -3.5]]) {
      const exact = await smallTvOracle();
      const f = await upperValue(exact, at, 1e-6);
      await exact.dispose();
      for (const [eps, delta] of [[1e-1, 1e-2], [3e-2, 3e-2], [1e-2, 1e-3], [3e-3, 3e-4]]) {
        const oracle = await smallTvOracle();
        const hg = await oracle.hypergradient(Float64Array.from(at), eps, delta, undefined, { valueEstimate: true });
        const est = hg.valueEstimate!;
        const e = hg.evaluation.lower.certifiedError;
        const gradientWidth = hg.evaluation.upperGradNorm * e + 0.5 * oracle.upper.lipschitz * e * e;
        console.log(`θ ${at} ε ${eps} δ ${delta}: |f − g(x̃)| ${Math.abs(f - hg.value).toExponential(2)} (width ${gradientWidth.toExponential(2)}), |f − corrected| ${Math.abs(f - est.value).toExponential(2)} ≤ ${est.bound.toExponential(2)}`);
        expect(Math.abs(f - est.value)).toBeLessThanOrEqual(est.bound);
        expect(est.bound).toBeLessThan(0.2 * gradientWidth);
        expect(Math.abs(f - est.value)).toBeLessThan(Math.abs(f - hg.value));
        oracle.release(hg.evaluation);
        await oracle.dispose();
      }
    }
  });

  it('the ‖J‖ estimate reaches ‖∂θ∇ₓh‖₂ (columns by central differences, 2×2 Gram) to 1 % within 3 calls', async () => {
    for (const at of [theta, [-2, -4]]) {
      const oracle = await smallTvOracle();
      const t = Float64Array.from(at);
      const ev = await oracle.evaluate(t, 1e-4);
      const h = 1e-3;
      const x = await oracle.reconstruction(ev);
      const cols = [0, 1].map((i) => tf.tidy(() => {
        const p = Float32Array.from(at), m = Float32Array.from(at);
        p[i] += h;
        m[i] -= h;
        return tf.div(tf.sub(oracle.problem.gradX(x, tf.tensor1d(p)), oracle.problem.gradX(x, tf.tensor1d(m))), 2 * h);
      }));
      const [a, b, c] = await readScalars(...[[0, 0], [0, 1], [1, 1]].map(([i, j]) => tf.tidy(() => tf.sum(tf.mul(cols[i], cols[j])))));
      tf.dispose([...cols, x]);
      const exactNorm = Math.sqrt((a + c) / 2 + Math.sqrt(((a - c) / 2) ** 2 + b * b));
      const estimates: number[] = [];
      for (let k = 0; k < 3; k++) estimates.push((await oracle.hypergradient(t, ev.lower.certifiedError, 1e-4, ev)).stats.jacobianNorm);
      console.log(`θ ${at}: ‖J‖ ${exactNorm.toExponential(4)}, estimates after 1, 2, 3 calls ${estimates.map((e) => e.toExponential(4)).join(', ')}`);
      expect(estimates[2]).toBeGreaterThan(0.99 * exactNorm);
      expect(estimates[2]).toBeLessThan(1.01 * exactNorm);
      oracle.release(ev);
      await oracle.dispose();
    }
  });

  it('counts the probe work of ω (PROBE_WORK at a new θ, at most POWER_PROBE_WORK at the same θ); errorBound: false skips the probes (same z, ω = NaN)', async () => {
    const oracle = await smallTvOracle();
    const t = Float64Array.from(theta);
    const ev = await oracle.evaluate(t, 1e-3);
    const withBound = await oracle.hypergradient(t, 1e-3, 1e-4, ev);
    expect(oracle.counters.probeWork).toBe(PROBE_WORK);
    expect(withBound.errorBound).toBeGreaterThan(0);
    const cg = oracle.counters.cgIterations;
    const without = await oracle.hypergradient(t, 1e-3, 1e-4, ev, { errorBound: false });
    expect(oracle.counters.probeWork).toBe(PROBE_WORK);
    expect(Number.isNaN(without.errorBound)).toBe(true);
    expect(oracle.counters.cgIterations).toBeGreaterThanOrEqual(cg);
    // CG restarts from the first call's solution, so z agrees to the CG tolerance, not bit for bit.
    const diff = Math.hypot(...Array.from(without.grad, (g, i) => g - withBound.grad[i]));
    expect(diff).toBeLessThanOrEqual(1e-2 * Math.hypot(...withBound.grad));
    // A re-solve at the same θ skips the L_J, L_H probes (at most the power probe's 3); a new θ probes in full.
    const again = await oracle.hypergradient(t, 1e-4, 1e-5, ev);
    expect(again.stats.probeWork).toBeLessThanOrEqual(POWER_PROBE_WORK);
    const moved = await oracle.hypergradient(Float64Array.from([theta[0] + 0.1, theta[1]]), 1e-3, 1e-4);
    expect(moved.stats.probeWork).toBe(PROBE_WORK);
    expect(oracle.counters.probeWork).toBe(2 * PROBE_WORK + again.stats.probeWork);
    oracle.release(moved.evaluation);
    oracle.release(ev);
    await oracle.dispose();
  });

  it('evaluate(θ, ε, from) warm-starts from from.x: a re-solve at finer ε from a coarse x̃ at θ costs less than from the accepted iterate', async () => {
    const oracle = await smallTvOracle();
    const t = Float64Array.from(theta);
    const coarse = await oracle.evaluate(t, 1e-2);
    const fromAccepted = await oracle.evaluate(t, 1e-4);
    const fromCoarse = await oracle.evaluate(t, 1e-4, coarse);
    console.log(`to ε = 1e-4: ${fromAccepted.lower.iterations} iterations from the accepted iterate, ${fromCoarse.lower.iterations} from x̃ at ε = 1e-2`);
    expect(fromCoarse.lower.certifiedError).toBeLessThanOrEqual(1e-4);
    expect(fromCoarse.lower.iterations).toBeLessThan(fromAccepted.lower.iterations);
    expect(Math.abs(fromCoarse.value - fromAccepted.value)).toBeLessThan(1e-3 * fromAccepted.value);
    for (const ev of [coarse, fromAccepted, fromCoarse]) oracle.release(ev);
    await oracle.dispose();
  });

  it('does not leak tensors across repeated hypergradient calls', async () => {
    const oracle = await smallTvOracle();
    const call = async () => {
      const hg = await oracle.hypergradient(Float64Array.from(theta), 1e-2, 1e-2, undefined, { valueEstimate: true });
      oracle.release(hg.evaluation);
    };
    await call();
    const before = tf.memory().numTensors;
    for (let k = 0; k < 5; k++) await call();
    expect(tf.memory().numTensors).toBe(before);
    await oracle.dispose();
  });
});
