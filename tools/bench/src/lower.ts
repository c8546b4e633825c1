import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { LowerLevelProblem, tf, type ImageBatch, type LowerSolver } from '@bilevel/core';
import { addGaussianNoise, loadImages, toBatch } from '@bilevel/datasets';
import { IdentityOperator, L2Fidelity } from '@bilevel/operators';
import { AnisotropicTV } from '@bilevel/regularizers-tv';
import { Fista, newtonCg } from '@bilevel/solvers';
import { measure, skipped, type BenchRecord } from './harness.js';

const KODAK = join(process.env.BILEVEL_DATA_MIRROR ?? join(process.cwd(), '../shared/data'), 'Kodak24-96'); // a local mirror (docs/datasets.md)

/** Warm-started solves met in TV Kodak96 runs: from the solution at `from` (accuracy `start`) to `to` at accuracy ε. */
const CASES = [
  // A MAID step along the flat θ₂ valley, at the accuracies its certified steps need.
  { name: 'valley-1e-3', from: [-2.09, -4.99], start: 1e-3, to: [-2.08, -4.98], epsilon: 1e-3 },
  { name: 'valley-1e-4', from: [-2.09, -4.99], start: 1e-3, to: [-2.08, -4.98], epsilon: 1e-4 },
  // An early MAID step at coarse accuracy.
  { name: 'early-0.3', from: [-3.85, -5.01], start: 0.3, to: [-3.15, -5.02], epsilon: 0.3 },
  // HOAG's second iterate overshoots to θ₁ = 0.37: far from the warm start, where Newton steps fail.
  { name: 'overshoot-0.08', from: [-3.59, -5.01], start: 0.09, to: [0.37, -5.04], epsilon: 0.08 },
];

/** FISTA vs newton-cg (FISTA with Newton steps): lower-level work (gradients + Hessian-vector products) and wall time. */
export async function benchLowerSolvers(): Promise<BenchRecord[]> {
  if (!existsSync(KODAK)) return [skipped('lower.tv-kodak96', `${KODAK} not found`)];
  const clean = toBatch(loadImages({ source: 'folder', path: KODAK }));
  const noisy = (await addGaussianNoise(clean, { type: 'gaussian', sigma: 0.1 }, 0)) as ImageBatch;
  const problem = new LowerLevelProblem(new IdentityOperator([96, 96]), new L2Fidelity(), new AnisotropicTV(), noisy, 0);
  const solvers: LowerSolver[] = [new Fista(), newtonCg()];
  const out: BenchRecord[] = [];
  for (const c of CASES) {
    const from = Float32Array.from(c.from), to = Float32Array.from(c.to);
    const start = (await solvers[0].solve(problem, from, noisy, c.start)).x;
    for (const solver of solvers) {
      let result = {};
      const r = await measure(`lower.tv-kodak96.${c.name}.${solver.name}`, async () => {
        const s = await solver.solve(problem, to, start, c.epsilon);
        result = { iterations: s.iterations, stop: s.stop, certifiedError: s.certifiedError };
        return s.x;
      }, { runs: 3, warmup: 1 });
      out.push({ ...r, ...result });
    }
    start.dispose();
  }
  tf.dispose([clean, noisy]);
  return out;
}
