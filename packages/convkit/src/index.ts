/**
 * {@include ../README.md}
 *
 * @module @bilevel/convkit
 */
// Convolution building blocks shared by the convolutional regularizer plugins (FoE, ICNN, CRR) and plugin authors.
export { conv2dAdjoint, conv2dFilterGrad, defaultEngine, ENGINE_OPTION_DOC, extension, filterBank, type Boundary, type ConvEngineName, type FilterBank, type Prepared } from './conv.js';
export { PatchGeometry } from './patches.js';
export { byChunks, imagesPerChunk } from './chunks.js';
export { INIT_SALT, Rng, xavierNormal } from './rng.js';
export { l1, lastValueCache, multiplierBound, multiplierGrid, schurBound, shapeCache } from './spectral.js';
export { extendedBankBound } from './extension-bound.js';
export { dctAtoms, derivativeFilters } from './filters.js';
export { fusedGradActivation, fusedHessActivation, fusedPatchAdjoint } from './fused.js';
export { BOUNDARY_OPTION_DOC, boundaryOption, convOptionsShape, engineOption } from './options.js';
