import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { PNG } from 'pngjs';
import { BilevelError, Rng, tf, z, type ForwardOperator, type ImageBatch, type PluginContext, type Tensor } from '@bilevel/core';

/** Normalised-convolution passes of the naive fill (each reaches one pixel further into a hole). */
const FILL_PASSES = 16;

/**
 * Inpainting: A x = m ⊙ x for a 0/1 pixel mask m (1 = observed), range [h, w, 1]; Aᵀ = A, ‖A‖ = 1, λ_min(AᵀA) = 0
 * unless every pixel is observed. The naive reconstruction fills each missing pixel with the mean of its observed (or
 * already filled) 3×3 neighbours, pass by pass (normalised convolution), and what is still empty after 16 passes with
 * the mean of the observed pixels.
 */
export class InpaintingOperator implements ForwardOperator {
  readonly name = 'inpainting';
  readonly rangeShape: readonly number[];
  readonly minEigenvalueAtA: number;
  /** The fraction of pixels observed. */
  readonly observed: number;
  private readonly mask: tf.Tensor3D;

  constructor(readonly domainShape: readonly [number, number], mask: Uint8Array) {
    const [h, w] = domainShape;
    if (mask.length !== h * w) throw new BilevelError(`the inpainting mask has ${mask.length} pixels, the images ${h}×${w}`, 'give a mask of the images\' size');
    this.rangeShape = [h, w, 1];
    this.observed = mask.reduce((a, v) => a + v, 0) / (h * w);
    if (this.observed === 0) throw new BilevelError('the inpainting mask observes no pixel', 'lower `missing` below 1, or use a mask PNG with white (observed) pixels');
    this.minEigenvalueAtA = this.observed === 1 ? 1 : 0;
    this.mask = tf.keep(tf.tensor3d(Float32Array.from(mask), [h, w, 1]));
  }

  apply(x: ImageBatch): Tensor {
    return tf.mul(x, this.mask);
  }

  adjoint(y: Tensor): ImageBatch {
    return tf.mul(y, this.mask) as ImageBatch;
  }

  normSquared(): number {
    return 1;
  }

  /** Missing pixels filled from their neighbours (see the class comment); observed pixels keep y. */
  naiveReconstruction(y: Tensor): ImageBatch {
    return tf.tidy(() => {
      const ones = tf.ones([3, 3, 1, 1]);
      let known = tf.mul(tf.onesLike(y), this.mask) as tf.Tensor4D;
      let value = tf.mul(y, this.mask) as tf.Tensor4D;
      for (let pass = 0; pass < FILL_PASSES; pass++) {
        const sum = tf.conv2d(value, ones as tf.Tensor4D, 1, 'same');
        const count = tf.conv2d(known, ones as tf.Tensor4D, 1, 'same');
        const fresh = tf.mul(tf.sub(1, known), tf.cast(tf.greater(count, 0), 'float32'));
        value = tf.add(value, tf.mul(fresh, tf.div(sum, tf.maximum(count, 1)))) as tf.Tensor4D;
        known = tf.add(known, fresh) as tf.Tensor4D;
      }
      const mean = tf.div(tf.sum(tf.mul(y, this.mask), [1, 2, 3], true), tf.maximum(tf.sum(tf.mul(tf.onesLike(y), this.mask), [1, 2, 3], true), 1));
      return tf.add(value, tf.mul(tf.sub(1, known), mean)) as ImageBatch;
    });
  }

  dispose(): void {
    this.mask.dispose();
  }
}

/** Inpainting options, declared once: a random mask, or one read from a PNG. */
export const inpaintingOptions = z.strictObject({
  missing: z.number().min(0).max(1).default(0.5).describe('fraction of pixels missing, drawn at random (ignored with maskFile)'),
  seed: z.number().int().default(0).describe('seed of the random mask (fixed across the experiment\'s seeds, which draw the noise)'),
  maskFile: z.string().min(1).optional().describe('a PNG of the images\' size: white (≥ 128) pixels observed, black missing (path relative to the working folder)'),
});
export type InpaintingOptions = z.output<typeof inpaintingOptions>;

/** The observed-pixel mask of a PNG (gray or colour: its first channel ≥ 128). */
function maskFromPng(file: string, h: number, w: number): Uint8Array {
  let png: PNG;
  try {
    png = PNG.sync.read(readFileSync(resolve(file)));
  } catch (e) {
    throw new BilevelError(`cannot read the inpainting mask "${file}" (${(e as Error).message.split('\n')[0]})`, 'give maskFile as the path of a PNG');
  }
  if (png.height !== h || png.width !== w) throw new BilevelError(`the inpainting mask "${file}" is ${png.width}×${png.height}, the images ${w}×${h}`, 'give a mask of the images\' size');
  return Uint8Array.from({ length: h * w }, (_, i) => (png.data[4 * i] >= 128 ? 1 : 0));
}

export function createInpainting(o: InpaintingOptions, ctx: PluginContext): InpaintingOperator {
  const [h, w] = ctx.imageShape;
  if (o.maskFile) return new InpaintingOperator(ctx.imageShape, maskFromPng(o.maskFile, h, w));
  const rng = new Rng(o.seed, 0x494e50);
  return new InpaintingOperator(ctx.imageShape, Uint8Array.from({ length: h * w }, () => (rng.uniform() < o.missing ? 0 : 1)));
}
