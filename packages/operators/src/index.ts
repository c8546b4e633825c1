/**
 * {@include ../README.md}
 *
 * @module @bilevel/operators
 */
import { bindPlugins, ContainerModule, definePlugin, z, type PluginDescriptor } from '@bilevel/core';
import { BlurOperator, BOUNDARIES, blurMinEigenvalue, type Boundary } from './blur.js';
import { FBP_FILTERS, fbpAngleWeights, filterKernel, filterMatrix, type FbpFilter } from './fbp.js';
import { IdentityOperator } from './identity.js';
import { customKernel, gaussianKernel, motionKernel, type BlurKernel } from './kernels.js';
import { createInpainting, InpaintingOperator, inpaintingOptions, type InpaintingOptions } from './inpainting.js';
import { KSPACE_MASKS, kspaceMask, type KspaceMask, type KspaceMaskOptions } from './kspace.js';
import { L2Fidelity } from './l2.js';
import { createMri, MriOperator, mriOptions, type MriOptions } from './mri.js';
import { dft2, dftMatrices, disposeDft2, forward2, inverseReal2, type Dft2 } from './fourier.js';
import { NORM_SAFETY_FACTOR, powerIteration, seededNormal, type HostLinearMap, type PowerIterationOptions } from './norm.js';
import { blurOptions, createBlur, createRadon, radonOptions, type BlurOptions, type RadonOptions } from './options.js';
import { detectorPositions, radonGeometry, RadonOperator, SUBPIXEL, type RadonGeometry, type RadonGeometryOptions } from './radon.js';

export { IdentityOperator, L2Fidelity };
export { BlurOperator, BOUNDARIES, blurMinEigenvalue, type Boundary };
export { customKernel, gaussianKernel, motionKernel, type BlurKernel };
export { RadonOperator, radonGeometry, detectorPositions, SUBPIXEL, type RadonGeometry, type RadonGeometryOptions };
export { MriOperator, mriOptions, createMri, KSPACE_MASKS, kspaceMask, type MriOptions, type KspaceMask, type KspaceMaskOptions };
export { dft2, dftMatrices, disposeDft2, forward2, inverseReal2, type Dft2 };
export { InpaintingOperator, inpaintingOptions, createInpainting, type InpaintingOptions };
export { FBP_FILTERS, fbpAngleWeights, filterKernel, filterMatrix, type FbpFilter };
export { NORM_SAFETY_FACTOR, powerIteration, seededNormal, createBlur, createRadon, blurOptions, radonOptions, type BlurOptions, type RadonOptions, type HostLinearMap, type PowerIterationOptions };

export const operatorPlugins: PluginDescriptor[] = [
  definePlugin({
    kind: 'operator', name: 'identity', description: 'A = I (denoising)',
    schema: z.strictObject({}),
    create: (_o, ctx) => new IdentityOperator(ctx.imageShape),
  }),
  definePlugin({
    kind: 'operator', name: 'blur', description: 'convolution with a Gaussian, motion or given kernel; reflect, zero or periodic boundary',
    schema: blurOptions,
    create: createBlur,
  }),
  definePlugin({
    kind: 'operator', name: 'radon', description: '2-D parallel-beam Radon transform (Joseph projector), exact back-projection, FBP as naive reconstruction',
    schema: radonOptions,
    create: createRadon,
  }),
  definePlugin({
    kind: 'operator', name: 'mri', description: 'undersampled MRI: orthonormal 2-D DFT then a k-space mask (cartesian lines, variable-density, radial); zero-filled inverse as naive reconstruction',
    schema: mriOptions,
    create: createMri,
  }),
  definePlugin({
    kind: 'operator', name: 'inpainting', description: 'pixel mask (random fraction missing, or a PNG); missing pixels filled from their neighbours as naive reconstruction',
    schema: inpaintingOptions,
    create: createInpainting,
  }),
  definePlugin({
    kind: 'fidelity', name: 'l2', description: 'D(Ax, y) = ½‖Ax − y‖²',
    schema: z.strictObject({}),
    create: () => new L2Fidelity(),
  }),
];

/** Registers the forward operators and data terms. */
export const operatorsModule = new ContainerModule((bind) => bindPlugins(bind, operatorPlugins));
