// Meanings of config fields whose schema (packages/experiment/src/schema.ts) carries no description yet. Used only
// where the schema is silent; a note whose field no longer exists fails the docs build (see config-reference.mjs).

export const FIELD_NOTES = {
  $schema: 'path of a JSON Schema for editors (`npx bilevel schema > bilevel.schema.json`); ignored by bilevel',
  name: 'the experiment name (summary.json, report titles)',
  backend: 'tensor backend; `--backend` and `BILEVEL_BACKEND` override it (default `wasm`)',
  seed: 'seed of the noise and of the regularizer initialisation',
  data: 'training images, optional test images and the noise model',
  'data.train': 'training images: one of the image sources below',
  'data.test': 'test images (optional): one of the image sources below',
  'data.noise': 'the noise model applied to A x',
  'data.noise.type': 'noise model',
  'data.noise.relative': 'sigma relative to max |Ax| instead of absolute',
  budget: 'when the outer loop stops at the latest (every optimizer also stops by itself)',
  'budget.maxIterations': 'outer iterations',
  'budget.maxInnerIterations': 'lower-level + CG iterations in total',
  'budget.maxSeconds': 'wall-clock seconds',
  evaluationTolerance: 'lower-level accuracy ε of the final train / test evaluation (default 1e-3)',
  'source.count': 'number of images',
  'source.offset': 'skip this many images (in name order) first',
  'source.seed': 'seed of the generated images',
};
