import { bindPlugins, ContainerModule, rejectUnknownOptions, type PluginDescriptor } from '@bilevel/core';
import { BlurOperator, BOUNDARIES, blurMinEigenvalue, type Boundary } from './blur.js';
import { FBP_FILTERS, fbpAngleWeights, filterKernel, filterMatrix, type FbpFilter } from './fbp.js';
import { IdentityOperator } from './identity.js';
import { customKernel, gaussianKernel, motionKernel, type BlurKernel } from './kernels.js';
import { L2Fidelity } from './l2.js';
import { NORM_SAFETY_FACTOR, powerIteration, seededNormal, type HostLinearMap, type PowerIterationOptions } from './norm.js';
import { BLUR_OPTION_DOCS, createBlur, createRadon, RADON_OPTION_DOCS } from './options.js';
import { detectorPositions, radonGeometry, RadonOperator, SUBPIXEL, type RadonGeometry, type RadonGeometryOptions } from './radon.js';

export { IdentityOperator, L2Fidelity };
export { BlurOperator, BOUNDARIES, blurMinEigenvalue, type Boundary };
export { customKernel, gaussianKernel, motionKernel, type BlurKernel };
export { RadonOperator, radonGeometry, detectorPositions, SUBPIXEL, type RadonGeometry, type RadonGeometryOptions };
export { FBP_FILTERS, fbpAngleWeights, filterKernel, filterMatrix, type FbpFilter };
export { NORM_SAFETY_FACTOR, powerIteration, seededNormal, createBlur, createRadon, type HostLinearMap, type PowerIterationOptions };

export const operatorPlugins: PluginDescriptor[] = [
  {
    kind: 'operator', name: 'identity', description: 'A = I (denoising)',
    create: (o, ctx, path) => (rejectUnknownOptions(o, [], path), new IdentityOperator(ctx.imageShape)),
  },
  {
    kind: 'operator', name: 'blur', description: 'convolution with a Gaussian, motion or given kernel; reflect, zero or periodic boundary',
    options: BLUR_OPTION_DOCS,
    create: createBlur,
  },
  {
    kind: 'operator', name: 'radon', description: '2-D parallel-beam Radon transform (Joseph projector), exact back-projection, FBP as naive reconstruction',
    options: RADON_OPTION_DOCS,
    create: createRadon,
  },
  {
    kind: 'fidelity', name: 'l2', description: 'D(Ax, y) = ½‖Ax − y‖²',
    create: (o, _ctx, path) => (rejectUnknownOptions(o, [], path), new L2Fidelity()),
  },
];

/** Registers the forward operators and data terms. */
export const operatorsModule = new ContainerModule((bind) => bindPlugins(bind, operatorPlugins));
