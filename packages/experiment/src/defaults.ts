/**
 * The embedded default experiment: TV denoising learned by MAID on generated piecewise-smooth images,
 * so `bilevel run --default` needs no external data.
 */
export const DEFAULT_CONFIG = {
  name: 'tv-denoising-synthetic',
  seed: 0,
  data: {
    train: { source: 'synthetic', count: 8, size: [64, 64], seed: 1000 },
    test: { source: 'synthetic', count: 4, size: [64, 64], seed: 2000 },
    noise: { type: 'gaussian', sigma: 0.1 },
  },
  operator: { name: 'identity' },
  regularizer: { name: 'tv', theta0: [-5, -5] },
  lowerSolver: { name: 'fista' },
  linearSolver: { name: 'cg' },
  optimizer: { name: 'maid' },
  budget: { maxIterations: 200, maxSeconds: 60 },
} as const;
