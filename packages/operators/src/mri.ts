import { tf, z, type ForwardOperator, type ImageBatch, type PluginContext, type Tensor } from '@bilevel/core';
import { dft2, disposeDft2, forward2, inverseReal2, type Dft2 } from './fourier.js';
import { KSPACE_MASKS, kspaceMask, type KspaceMaskOptions } from './kspace.js';

/**
 * Undersampled MRI: A x = M ⊙ F x with F the orthonormal 2-D DFT and M a 0/1 k-space mask; k-space is stored as real
 * pairs, range [h, w, 2] (real, imaginary). Aᵀ y = Re F⁻¹(M ⊙ y), ‖A‖ = 1, and the zero-filled inverse Aᵀ y is the naive
 * reconstruction. Transforms are real matrix products (every backend; wasm has no complex kernels).
 */
export class MriOperator implements ForwardOperator {
  readonly name = 'mri';
  readonly rangeShape: readonly number[];
  readonly minEigenvalueAtA: number;
  /** The fraction of k-space sampled. */
  readonly sampled: number;
  private readonly dft: Dft2;
  private readonly mask: tf.Tensor3D;

  constructor(readonly domainShape: readonly [number, number], mask: Uint8Array) {
    const [h, w] = domainShape;
    this.rangeShape = [h, w, 2];
    this.sampled = mask.reduce((a, v) => a + v, 0) / (h * w);
    // AᵀA = F⁻¹ M F is the identity only when every frequency is sampled.
    this.minEigenvalueAtA = this.sampled === 1 ? 1 : 0;
    this.dft = dft2(h, w);
    this.mask = tf.keep(tf.tensor3d(Float32Array.from(mask), [h, w, 1]));
  }

  apply(x: ImageBatch): Tensor {
    return tf.tidy(() => {
      const [n, h, w] = x.shape;
      const [re, im] = forward2(this.dft, tf.reshape(x, [n, h, w]));
      return tf.mul(tf.stack([re, im], 3), this.mask);
    });
  }

  adjoint(y: Tensor): ImageBatch {
    return tf.tidy(() => {
      const [n, h, w] = y.shape;
      const masked = tf.mul(y, this.mask);
      const [re, im] = tf.unstack(masked, 3) as [tf.Tensor3D, tf.Tensor3D];
      return tf.reshape(inverseReal2(this.dft, re, im), [n, h, w, 1]) as ImageBatch;
    });
  }

  /** ‖M F‖² = 1: F is unitary and M a non-empty 0/1 mask. */
  normSquared(): number {
    return 1;
  }

  /** The zero-filled inverse Re F⁻¹(M ⊙ y). */
  naiveReconstruction(y: Tensor): ImageBatch {
    return this.adjoint(y);
  }

  dispose(): void {
    disposeDft2(this.dft);
    this.mask.dispose();
  }
}

/** MRI options, declared once. */
export const mriOptions = z.strictObject({
  mask: z.enum(KSPACE_MASKS).default('cartesian').describe('k-space sampling: "cartesian" (phase-encode lines) | "variable-density" (random points) | "radial" (golden-angle spokes)'),
  acceleration: z.number().min(1).max(64).default(4).describe('R: about 1/R of k-space is sampled'),
  centerFraction: z.number().min(0).max(1).default(0.08).describe('fraction of the lowest frequencies sampled fully (lines for cartesian, a central square for variable-density)'),
  seed: z.number().int().default(0).describe('seed of the random mask (fixed across the experiment\'s seeds, which draw the noise)'),
});
export type MriOptions = z.output<typeof mriOptions>;

export function createMri(o: MriOptions, ctx: PluginContext): MriOperator {
  const [h, w] = ctx.imageShape;
  const mask: KspaceMaskOptions = { mask: o.mask, acceleration: o.acceleration, centerFraction: o.centerFraction, seed: o.seed };
  return new MriOperator(ctx.imageShape, kspaceMask(h, w, mask));
}
