/**
 * {@include ../README.md}
 *
 * @module @bilevel/datasets
 */
export * from './png.js';
export * from './resize.js';
export * from './random.js';
export * from './synthetic.js';
export * from './images.js';
export * from './phantoms.js';
export * from './noise.js';
export * from './raster.js';
export * from './pil-resize.js';
export * from './registry/index.js';
