import { describe, expect, it } from 'vitest';
import { tf } from '@bilevel/core';
import { smallTvOracle, upperValue } from './fixtures.js';

const theta = [-2.5, -2.5];

/** Central differences of f with Richardson extrapolation: (4 D(h/2) − D(h)) / 3. */
function fdGradient(f: (t: number[]) => number, t: number[], h: number): number[] {
  return t.map((_, i) => {
    const c = (s: number) => {
      const p = [...t], m = [...t];
      p[i] += s;
      m[i] -= s;
      return (f(p) - f(m)) / (2 * s);
    };
    return (4 * c(h / 2) - c(h)) / 3;
  });
}

describe('hypergradient oracle (TV denoising, 2 images 24×24)', () => {
  it('agrees with central finite differences of f(θ) to relative error ≤ 1e-3 at tight accuracy', () => {
    const oracle = smallTvOracle();
    const hg = oracle.hypergradient(Float64Array.from(theta), 1e-5, 1e-7);
    oracle.release(hg.evaluation);
    const fd = fdGradient((t) => upperValue(oracle, t, 1e-5), theta, 0.05);
    const err = Math.hypot(...fd.map((g, i) => g - hg.grad[i])) / Math.hypot(...fd);
    console.log(`hypergradient ${Array.from(hg.grad)} vs FD ${fd}: relative error ${err.toExponential(2)}`);
    expect(err).toBeLessThanOrEqual(1e-3);
    oracle.dispose();
  });

  it('the a-posteriori bound ω is at least the measured error for every (ε, δ) checked', () => {
    const exact = smallTvOracle();
    const ref = exact.hypergradient(Float64Array.from(theta), 1e-5, 1e-7);
    exact.release(ref.evaluation);
    exact.dispose();
    const cases: [number, number][] = [[1e-1, 1e-1], [3e-2, 3e-2], [1e-2, 1e-2], [1e-3, 1e-3], [1e-1, 1e-3], [1e-3, 1e-1], [3e-1, 1e-2]];
    for (const [eps, delta] of cases) {
      const oracle = smallTvOracle();
      const hg = oracle.hypergradient(Float64Array.from(theta), eps, delta);
      const error = Math.hypot(...Array.from(hg.grad, (g, i) => g - ref.grad[i]));
      console.log(`ε ${eps} δ ${delta}: error ${error.toExponential(2)} ≤ ω ${hg.errorBound.toExponential(2)}`);
      expect(hg.errorBound).toBeGreaterThanOrEqual(error);
      oracle.release(hg.evaluation);
      oracle.dispose();
    }
  });

  it('does not leak tensors across repeated hypergradient calls', () => {
    const oracle = smallTvOracle();
    const call = () => {
      const hg = oracle.hypergradient(Float64Array.from(theta), 1e-2, 1e-2);
      oracle.release(hg.evaluation);
    };
    call();
    const before = tf.memory().numTensors;
    for (let k = 0; k < 5; k++) call();
    expect(tf.memory().numTensors).toBe(before);
    oracle.dispose();
  });
});
