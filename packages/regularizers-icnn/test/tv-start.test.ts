import { describe, expect, it } from 'vitest';
import { tf, type ImageBatch } from '@bilevel/core';
import { Icnn, tvStart } from '@bilevel/regularizers-icnn';

/**
 * ∇ of w Σ_{h,v} √(d² + ν²) over forward differences inside the image (the `tv` regularizer), plus δ w Σ √(d² + ν²)
 * over the two diagonal differences x(i+1, j+1) − x(i, j) and x(i+1, j) − x(i, j+1), indices clamped (the symmetric
 * mirror), in plain JS.
 */
function tvGradient(x: Float32Array, [n, h, w]: number[], theta: [number, number], delta = 0): Float64Array {
  const wt = Math.exp(theta[0]) / 2, nu2 = Math.exp(2 * theta[1]);
  const g = new Float64Array(x.length);
  const at = (b: number, i: number, j: number) => (b * h + Math.min(i, h - 1)) * w + Math.min(j, w - 1);
  const add = (p: number, q: number, c: number) => {
    const d = x[q] - x[p], psi = (c * wt * d) / Math.sqrt(d * d + nu2);
    g[q] += psi;
    g[p] -= psi;
  };
  for (let b = 0; b < n; b++) for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) {
    if (j + 1 < w) add(at(b, i, j), at(b, i, j + 1), 1);
    if (i + 1 < h) add(at(b, i, j), at(b, i + 1, j), 1);
    if (delta > 0) {
      add(at(b, i, j), at(b, i + 1, j + 1), delta);
      add(at(b, i, j + 1), at(b, i + 1, j), delta);
    }
  }
  return g;
}

describe('tvStart: an ICNN that starts at a learned anisotropic TV', () => {
  const cases: [[number, number], number, number][] = [[[-7.2, -6.37], 3, 0], [[-2, -3], 5, 0], [[-7.2, -6.37], 5, 0.1]];
  for (const [theta, size, diagonals] of cases) {
    it(`θ_TV = [${theta}], ${size}×${size}, diagonals ${diagonals}: ∇ₓR_ICNN(θ₀) = ∇ₓ(R_TV + δ R_diagonal) to σ'(1) (5·10⁻⁴)`, async () => {
      const reg = new Icnn(tvStart(theta, { size, diagonals }));
      expect(reg.layout.blocks.map((b) => b.name)).toEqual(['V1', 'b1', 'W2', 'V2', 'b2', 'logScale', 'logGamma']);
      expect(reg.options.channels).toEqual([diagonals > 0 ? 8 : 4, 1]);
      const shape = [2, 11, 13, 1];
      const x = tf.randomUniform(shape, 0, 1, 'float32', 7) as ImageBatch;
      const th = tf.tensor1d(reg.initialTheta(0));
      const g = reg.gradX(x, th);
      const icnn = await g.data();
      const xs = await x.data();
      const want = tvGradient(xs as Float32Array, shape, theta, diagonals);
      // Remove the ICNN's own γx (γ = 10⁻⁶) before comparing.
      const diff = Math.hypot(...Array.from(icnn, (v, i) => v - 1e-6 * xs[i] - want[i]));
      console.log(`tvStart [${theta}] ${size}×${size} diagonals ${diagonals}: relative gradient difference ${(diff / Math.hypot(...want)).toExponential(2)}`);
      expect(diff / Math.hypot(...want)).toBeLessThan(1e-3);
      tf.dispose([x, th, g]);
    });
  }

  it('rejects a θ that is not a TV θ, naming the fix', () => {
    expect(() => tvStart([1, 2, 3])).toThrow(/2 entries \[logWeight, logSmoothing\]/);
    expect(() => tvStart([0, 0], { size: 2 })).toThrow(/size must be at least 3/);
    expect(() => tvStart([0, 0], { diagonals: -1 })).toThrow(/diagonals must be a weight ≥ 0/);
  });

  it('pairWeights: one positive weight per ± pair of a derivatives start, else an error naming the fix', () => {
    expect(() => new Icnn({ channels: [8, 1], init: 'derivatives', pairWeights: [1, 1] })).toThrow(/one weight per ± pair of the 8 first-layer channels, got 2: give 4 weights/);
    expect(() => new Icnn({ channels: [4, 1], init: 'paired', pairWeights: [1, 1] })).toThrow(/use init 'derivatives' with at least two layers/);
    expect(() => new Icnn({ channels: [4, 1], init: 'derivatives', pairWeights: [1, 0] })).toThrow(/make every weight positive/);
  });
});

describe('ICNN curvature with the image shape', () => {
  it('the TV start on 128×128: about 4× below the any-shape bound, and still above the Hessian (power iteration)', async () => {
    const reg = new Icnn(tvStart([-7.2, -6.37], { size: 5 }));
    const t0 = reg.initialTheta(0);
    const shaped = reg.curvature(t0, [4, 128, 128, 1]).L, any = reg.curvature(t0).L;
    console.log(`ICNN at the TV start, 5×5 symmetric: L = ${shaped.toFixed(3)} for 128×128 against ${any.toFixed(3)} for any shape`);
    expect(shaped).toBeLessThan(any / 3.5);
    // Nearly flat x: every difference sits in σ's corner, where the Hessian is largest.
    const x = tf.randomUniform([1, 24, 24, 1], 0.5, 0.5001, 'float32', 3) as ImageBatch;
    const th = tf.tensor1d(t0);
    let v = tf.randomNormal(x.shape, 0, 1, 'float32', 4) as ImageBatch, lam = 0;
    for (let i = 0; i < 60; i++) {
      const u = reg.hvpX(x, th, v);
      lam = (await tf.norm(u).data())[0] / (await tf.norm(v).data())[0];
      v.dispose();
      v = tf.div(u, tf.norm(u)) as ImageBatch;
      u.dispose();
    }
    expect(lam).toBeLessThanOrEqual(reg.curvature(t0, x.shape).L);
    console.log(`power iteration ${lam.toFixed(3)} ≤ L = ${reg.curvature(t0, x.shape).L.toFixed(3)} on 24×24`);
    expect(lam).toBeGreaterThan(reg.curvature(t0, x.shape).L / 3);
    tf.dispose([x, th, v]);
  });
});
