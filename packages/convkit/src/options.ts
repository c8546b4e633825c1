import { z } from '@bilevel/core';
import type { Boundary } from './conv.js';

/** The window boundary option's meaning, as the convolutional regularizers document it. */
export const BOUNDARY_OPTION_DOC = "'reflect' (mirror-extended image, one window per pixel), 'symmetric' or 'valid'";

/** `engine`: the convolution layout, 'auto' | 'patches' | 'native' (default 'auto'). */
export const engineOption = z.enum(['auto', 'patches', 'native']).default('auto')
  .describe("convolution layout: 'auto' (patches on wasm/cpu in the main thread, conv2d in worker threads and on GPU backends), 'patches' (im2col, fast on wasm/cpu) or 'native' (conv2d)");

/** `boundary`: where the s×s windows lie, 'reflect' | 'symmetric' | 'valid' (default `fallback`). */
export function boundaryOption(fallback: Boundary = 'reflect', doc = BOUNDARY_OPTION_DOC) {
  return z.enum(['reflect', 'symmetric', 'valid']).default(fallback).describe(doc);
}

/** The option fields every convolutional regularizer shares: `engine` and `boundary` (spread into its strict object). */
export const convOptionsShape = { engine: engineOption, boundary: boundaryOption() };
