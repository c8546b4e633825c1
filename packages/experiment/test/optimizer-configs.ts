/** One small synthetic TV config per optimizer (4 images 16×16, a few iterations): resume and worker tests run them all. */
export const OPTIMIZERS: Record<string, { name: string; options?: Record<string, unknown> }> = {
  maid: { name: 'maid' },
  hoag: { name: 'hoag' },
  isgd: { name: 'isgd', options: { batchSize: 2 } },
  'adam-hypergradient': { name: 'adam-hypergradient', options: { batchSize: 2 } },
  'stochastic-maid': { name: 'stochastic-maid', options: { batchSize: 2 } },
  'fixed-accuracy-gd': { name: 'fixed-accuracy-gd' },
  dfo: { name: 'dfo' },
};

export function tinyConfig(optimizer: keyof typeof OPTIMIZERS | string, maxIterations = 6): Record<string, unknown> {
  return {
    name: `tiny-${optimizer}`,
    seed: 3,
    data: { train: { source: 'synthetic', count: 4, size: [16, 16], seed: 11 }, noise: { sigma: 0.1 } },
    regularizer: { name: 'tv', theta0: [-4, -4.5] },
    optimizer: OPTIMIZERS[optimizer],
    budget: { maxIterations },
  };
}
