// A shard factory for the tests (plain JS: workers load it without a TypeScript loader): synthetic TV denoising.
import { addGaussianNoise, syntheticImage, toBatch } from '@bilevel/datasets';
import { IdentityOperator, L2Fidelity } from '@bilevel/operators';
import { buildShardOracles } from '@bilevel/oracles';
import { AnisotropicTV } from '@bilevel/regularizers-tv';
import { ConjugateGradient, Fista } from '@bilevel/solvers';

/** init: { count, size, seed } — the images of smallTvOracle(count, size, seed). */
export async function createShardOracles(ctx) {
  const { count, size, seed } = ctx.init;
  const clean = toBatch(Array.from({ length: count }, (_, i) => syntheticImage(size, size, seed + i)));
  const noisy = await addGaussianNoise(clean, { type: 'gaussian', sigma: 0.1 }, seed + 100);
  return buildShardOracles({
    operator: new IdentityOperator([size, size]), fidelity: new L2Fidelity(), regularizer: new AnisotropicTV(), gamma: 0,
    measurement: noisy, clean, seed,
    lowerSolver: new Fista({ maxIterations: 50000, restart: true, stallWindow: 500 }), linearSolver: new ConjugateGradient({ maxIterations: 5000 }),
  }, ctx);
}
