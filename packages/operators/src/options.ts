import { addOptionIssue, z, type PluginContext } from '@bilevel/core';
import { BlurOperator, BOUNDARIES } from './blur.js';
import { FBP_FILTERS } from './fbp.js';
import { customKernel, defaultGaussianSize, defaultMotionSize, gaussianKernel, motionKernel, type BlurKernel } from './kernels.js';
import { radonGeometry, RadonOperator } from './radon.js';

/** Fields every blur kernel accepts. */
const blurShape = {
  boundary: z.enum(BOUNDARIES).default('reflect').describe('"reflect" (half-sample symmetric) | "zero" | "periodic"'),
  size: z.number().int().min(1).max(255).optional()
    .describe('kernel size in pixels (odd; gaussian default 2⌈3σ⌉+1, motion default the smallest odd ≥ length, custom default √(weights count))'),
};

const gaussianBlur = z.strictObject({
  kernel: z.literal('gaussian').default('gaussian').describe('"gaussian" | "motion" | "custom"'),
  ...blurShape,
  sigma: z.number().gt(0).max(100).default(1).describe('gaussian standard deviation in pixels'),
});

const motionBlur = z.strictObject({
  kernel: z.literal('motion'),
  ...blurShape,
  length: z.number().gt(0).max(255).default(9).describe('motion length in pixels'),
  angle: z.number().default(0).describe('motion angle in degrees, counter-clockwise from horizontal'),
}).superRefine((o, ctx) => {
  if (o.size !== undefined && o.size < o.length) {
    addOptionIssue(ctx, 'size', `must hold the motion length ${o.length}, got ${o.size}`, `raise size to at least ${defaultMotionSize(o.length)} or omit it`);
  }
});

/** Side of a custom kernel: `size`, else the square root of the weight count. */
const customSide = (o: { size?: number; weights: readonly number[] }) => o.size ?? Math.round(Math.sqrt(o.weights.length));

const customBlur = z.strictObject({
  kernel: z.literal('custom'),
  ...blurShape,
  weights: z.array(z.number()).min(1).describe('custom kernel, size×size numbers row-major (used as given)'),
}).superRefine((o, ctx) => {
  if (o.weights.length === 0) return;
  const size = customSide(o);
  if (size * size !== o.weights.length) {
    addOptionIssue(ctx, 'weights', `has ${o.weights.length} entries, not size² = ${size}² = ${size * size}`, 'give size×size numbers (pad a non-square kernel with zeros)');
  } else if (!o.weights.some((v) => v !== 0)) {
    addOptionIssue(ctx, 'weights', 'all weights are zero', 'give a kernel with a non-zero entry');
  }
});

/** Blur options: which fields are accepted depends on `kernel` (default "gaussian"). */
export const blurOptions = z.discriminatedUnion('kernel', [gaussianBlur, motionBlur, customBlur]);
export type BlurOptions = z.output<typeof blurOptions>;

/** Builds a blur operator from parsed options. */
export function createBlur(o: BlurOptions, ctx: PluginContext): BlurOperator {
  let kernel: BlurKernel;
  if (o.kernel === 'gaussian') kernel = gaussianKernel(o.size ?? defaultGaussianSize(o.sigma), o.sigma);
  else if (o.kernel === 'motion') kernel = motionKernel(o.length, o.angle, o.size ?? defaultMotionSize(o.length));
  else kernel = customKernel(o.weights, customSide(o));
  return new BlurOperator(ctx.imageShape, kernel, o.boundary);
}

/** Angle defaults; not filled in by the schema, since `angleList` excludes them. */
const ANGLE_DEFAULTS = { angles: 180, angleRange: 180, angleStart: 0 } as const;
const ANGLE_KEYS = ['angles', 'angleRange', 'angleStart'] as const;

/** Radon options: equally spaced angles, or an explicit `angleList`; detectors default from the image shape. */
export const radonOptions = z.strictObject({
  angles: z.number().int().min(1).max(10000).optional().meta({ default: ANGLE_DEFAULTS.angles }).describe('number of equally spaced angles'),
  angleRange: z.number().gt(0).max(360).optional().meta({ default: ANGLE_DEFAULTS.angleRange }).describe('degrees covered by the angles (less for limited angle)'),
  angleStart: z.number().optional().meta({ default: ANGLE_DEFAULTS.angleStart }).describe('first angle in degrees'),
  angleList: z.array(z.number()).min(1).optional().describe('explicit angles in degrees (instead of angles / angleRange / angleStart)'),
  detectors: z.number().int().min(1).max(100000).optional().describe('detector count (default ⌈image diagonal / detectorSpacing⌉)'),
  detectorSpacing: z.number().gt(0).max(100).default(1).describe('detector pitch in pixels'),
  pixelSize: z.number().gt(0).default(1).describe('pixel side in the length unit of the line integrals'),
  filter: z.enum(FBP_FILTERS).default('ramp').describe('FBP filter: "ramp" | "shepp-logan" | "cosine" | "hann"'),
}).superRefine((o, ctx) => {
  if (!o.angleList) return;
  for (const key of ANGLE_KEYS) if (o[key] !== undefined) addOptionIssue(ctx, key, 'cannot be combined with angleList', `remove ${key} or angleList`);
});
export type RadonOptions = z.output<typeof radonOptions>;

/** Builds a parallel-beam Radon operator from parsed options. */
export function createRadon(o: RadonOptions, ctx: PluginContext): RadonOperator {
  const [h, w] = ctx.imageShape;
  const geometry = radonGeometry(h, w, {
    angleList: o.angleList,
    angles: o.angles ?? ANGLE_DEFAULTS.angles,
    angleRange: o.angleRange ?? ANGLE_DEFAULTS.angleRange,
    angleStart: o.angleStart ?? ANGLE_DEFAULTS.angleStart,
    detectorSpacing: o.detectorSpacing,
    detectors: o.detectors,
    pixelSize: o.pixelSize,
  });
  return new RadonOperator(geometry, o.filter);
}
