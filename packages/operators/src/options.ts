import { choiceOption, ConfigError, numberArrayOption, numberOption, rejectUnknownOptions, type Options, type PluginContext } from '@bilevel/core';
import { BlurOperator, BOUNDARIES } from './blur.js';
import { FBP_FILTERS } from './fbp.js';
import { customKernel, defaultGaussianSize, defaultMotionSize, gaussianKernel, motionKernel, type BlurKernel } from './kernels.js';
import { radonGeometry, RadonOperator } from './radon.js';

const KERNELS = ['gaussian', 'motion', 'custom'] as const;
const BLUR_OPTIONS: Record<(typeof KERNELS)[number], string[]> = {
  gaussian: ['kernel', 'boundary', 'size', 'sigma'],
  motion: ['kernel', 'boundary', 'size', 'length', 'angle'],
  custom: ['kernel', 'boundary', 'size', 'weights'],
};

export const BLUR_OPTION_DOCS: Readonly<Record<string, string>> = {
  kernel: '"gaussian" (default) | "motion" | "custom"',
  boundary: '"reflect" (half-sample symmetric, default) | "zero" | "periodic"',
  size: 'kernel size in pixels (odd; gaussian default 2⌈3σ⌉+1, motion default the smallest odd ≥ length)',
  sigma: 'gaussian standard deviation in pixels (default 1)',
  length: 'motion length in pixels (default 9)',
  angle: 'motion angle in degrees, counter-clockwise from horizontal (default 0)',
  weights: 'custom kernel, size×size numbers row-major (used as given)',
};

/** Builds a blur operator from validated plugin options. */
export function createBlur(o: Options, ctx: PluginContext, path: string): BlurOperator {
  const kind = choiceOption(o, 'kernel', 'gaussian', KERNELS, path);
  rejectUnknownOptions(o, BLUR_OPTIONS[kind], path);
  const boundary = choiceOption(o, 'boundary', 'reflect', BOUNDARIES, path);
  let kernel: BlurKernel;
  const sizeOption = (fallback: number) => numberOption(o, 'size', fallback, path, { integer: true, min: 1, max: 255 });
  if (kind === 'gaussian') {
    const sigma = numberOption(o, 'sigma', 1, path, { min: 0, exclusiveMin: true, max: 100 });
    kernel = gaussianKernel(sizeOption(defaultGaussianSize(sigma)), sigma);
  } else if (kind === 'motion') {
    const length = numberOption(o, 'length', 9, path, { min: 0, exclusiveMin: true, max: 255 });
    const angle = numberOption(o, 'angle', 0, path);
    const size = sizeOption(defaultMotionSize(length));
    if (size < length) throw new ConfigError(`${path}.size`, `must hold the motion length ${length}, got ${size}`, `raise size to at least ${defaultMotionSize(length)} or omit it`);
    kernel = motionKernel(length, angle, size);
  } else {
    const weights = numberArrayOption(o, 'weights', path);
    if (!weights || weights.length === 0) throw new ConfigError(`${path}.weights`, 'a custom kernel needs its weights', 'give weights as a flat row-major array of size×size numbers');
    const side = Math.round(Math.sqrt(weights.length));
    const size = sizeOption(side);
    if (size * size !== weights.length) {
      throw new ConfigError(`${path}.weights`, `has ${weights.length} entries, not size² = ${size}² = ${size * size}`, 'give size×size numbers (pad a non-square kernel with zeros)');
    }
    if (!weights.some((v) => v !== 0)) throw new ConfigError(`${path}.weights`, 'all weights are zero', 'give a kernel with a non-zero entry');
    kernel = customKernel(weights, size);
  }
  return new BlurOperator(ctx.imageShape, kernel, boundary);
}

export const RADON_OPTION_DOCS: Readonly<Record<string, string>> = {
  angles: 'number of equally spaced angles (default 180)',
  angleRange: 'degrees covered by the angles (default 180; less for limited angle)',
  angleStart: 'first angle in degrees (default 0)',
  angleList: 'explicit angles in degrees (instead of angles / angleRange / angleStart)',
  detectors: 'detector count (default ⌈image diagonal / detectorSpacing⌉)',
  detectorSpacing: 'detector pitch in pixels (default 1)',
  pixelSize: 'pixel side in the length unit of the line integrals (default 1)',
  filter: 'FBP filter: "ramp" (default) | "shepp-logan" | "cosine" | "hann"',
};

/** Builds a parallel-beam Radon operator from validated plugin options. */
export function createRadon(o: Options, ctx: PluginContext, path: string): RadonOperator {
  rejectUnknownOptions(o, Object.keys(RADON_OPTION_DOCS), path);
  const angleList = numberArrayOption(o, 'angleList', path);
  if (angleList) {
    for (const key of ['angles', 'angleRange', 'angleStart']) {
      if (o[key] !== undefined) throw new ConfigError(`${path}.${key}`, 'cannot be combined with angleList', `remove ${key} or angleList`);
    }
    if (angleList.length === 0) throw new ConfigError(`${path}.angleList`, 'is empty', 'give at least one angle in degrees');
  }
  const [h, w] = ctx.imageShape;
  const detectorSpacing = numberOption(o, 'detectorSpacing', 1, path, { min: 0, exclusiveMin: true, max: 100 });
  const geometry = radonGeometry(h, w, {
    angleList,
    angles: numberOption(o, 'angles', 180, path, { integer: true, min: 1, max: 10000 }),
    angleRange: numberOption(o, 'angleRange', 180, path, { min: 0, exclusiveMin: true, max: 360 }),
    angleStart: numberOption(o, 'angleStart', 0, path),
    detectorSpacing,
    detectors: o.detectors === undefined ? undefined : numberOption(o, 'detectors', 0, path, { integer: true, min: 1, max: 100000 }),
    pixelSize: numberOption(o, 'pixelSize', 1, path, { min: 0, exclusiveMin: true }),
  });
  return new RadonOperator(geometry, choiceOption(o, 'filter', 'ramp', FBP_FILTERS, path));
}
