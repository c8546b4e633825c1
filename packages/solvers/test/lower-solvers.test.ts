import { describe, expect, it } from 'vitest';
import { createContainer, LowerLevelProblem, PluginRegistry, readScalars, tf, type ImageBatch, type LowerSolver } from '@bilevel/core';
import { addGaussianNoise, syntheticImage, toBatch } from '@bilevel/datasets';
import { IdentityOperator, L2Fidelity } from '@bilevel/operators';
import { AnisotropicTV } from '@bilevel/regularizers-tv';
import { Fista, NEWTON_DEFAULTS, newtonCg as makeNewtonCg, solversModule } from '../src/index.js';

/** Two generated 24×24 piecewise-smooth images, σ = 0.1, TV denoising. */
async function tvProblem(): Promise<{ problem: LowerLevelProblem; noisy: ImageBatch }> {
  const clean = toBatch([0, 1].map((i) => syntheticImage(24, 24, i)));
  const noisy = (await addGaussianNoise(clean, { type: 'gaussian', sigma: 0.1 }, 100)) as ImageBatch;
  clean.dispose();
  return { problem: new LowerLevelProblem(new IdentityOperator([24, 24]), new L2Fidelity(), new AnisotropicTV(), noisy, 0), noisy };
}

const newtonCg = makeNewtonCg();
const fista = new Fista();

function solveAt(solver: LowerSolver, theta: number[], x0: ImageBatch, tolerance: number) {
  return solver.solve(fixture.problem, Float32Array.from(theta), x0, tolerance);
}

const fixture = await tvProblem();

describe('lower-level solvers on TV denoising (2 images 24×24)', () => {
  const thetas = [[-2.5, -2.5], [-2, -4]];

  it('newton-cg stops certified, and its certificate bounds the distance to the solution', async () => {
    for (const theta of thetas) {
      const ref = await solveAt(fista, theta, fixture.noisy, 1e-6);
      for (const tolerance of [1e-1, 1e-2, 1e-3]) {
        const r = await solveAt(newtonCg, theta, fixture.noisy, tolerance);
        const [error] = await readScalars(tf.tidy(() => tf.norm(tf.sub(r.x, ref.x))));
        console.log(`θ = (${theta}) ε = ${tolerance}: certificate ${r.certifiedError.toExponential(2)}, ‖x̃ − x̂‖ = ${error.toExponential(2)}, ${r.iterations} its`);
        expect(r.stop).toBe('certified');
        expect(r.certifiedError).toBeLessThanOrEqual(tolerance);
        expect(error).toBeLessThanOrEqual(r.certifiedError + 1e-5);
        r.x.dispose();
      }
      ref.x.dispose();
    }
  });

  it('newton-cg needs less lower-level work than FISTA for tight accuracies from a warm start', async () => {
    // Small smoothing (γ = e⁻⁵): the ill-conditioned regime of the TV Kodak96 runs.
    const theta = [-2, -5];
    const warm = await solveAt(fista, [-2.05, -5], fixture.noisy, 1e-3);
    for (const tolerance of [1e-3, 1e-4]) {
      const f = await solveAt(fista, theta, warm.x, tolerance);
      const n = await solveAt(newtonCg, theta, warm.x, tolerance);
      console.log(`ε = ${tolerance}: FISTA ${f.iterations}, newton-cg ${n.iterations} gradients + Hessian-vector products`);
      expect(n.iterations).toBeLessThan(f.iterations);
      f.x.dispose();
      n.x.dispose();
    }
    warm.x.dispose();
  });

  it('reports the iteration cap and the float32 floor instead of looping', async () => {
    const capped = await solveAt(makeNewtonCg({ maxIterations: 30 }), [-2.5, -2.5], fixture.noisy, 1e-6);
    expect(capped.stop).toBe('iteration-cap');
    expect(capped.iterations).toBeLessThanOrEqual(30 + NEWTON_DEFAULTS.cgCap + 1);
    capped.x.dispose();
    const floor = await solveAt(makeNewtonCg({ stallWindow: 50 }), [-2.5, -2.5], fixture.noisy, 1e-12);
    expect(floor.stop).toBe('float32-floor');
    expect(floor.certifiedError).toBeGreaterThan(1e-12);
    expect(floor.certifiedError).toBeLessThan(1e-3);
    floor.x.dispose();
  });

  it('does not leak tensors across repeated solves', async () => {
    const once = async () => (await solveAt(newtonCg, [-2.5, -2.5], fixture.noisy, 1e-3)).x.dispose();
    await once();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) await once();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('is registered as the newton-cg lower solver, with its options checked', async () => {
    const registry = PluginRegistry.fromContainer(createContainer([solversModule]));
    const make = (options: Record<string, unknown>) => registry.create('lowerSolver', 'newton-cg', options, { imageShape: [24, 24] as const, seed: 0 }, 'lowerSolver.options') as Fista;
    const solver = make({ forcing: 0.2, cgCap: 10 });
    expect([solver.name, solver.options.newton]).toEqual(['newton-cg', { forcing: 0.2, cgCap: 10 }]);
    expect(() => make({ cgcap: 10 })).toThrow(/lowerSolver\.options\.cgcap: unknown option/);
    expect(() => make({ forcing: 2 })).toThrow(/lowerSolver\.options\.forcing/);
  });
});
