// The one tfjs-core instance every package shares: plugins import `tf` from here.
import * as tf from '@tensorflow/tfjs-core';

export { tf };
export type Tensor = tf.Tensor;
export type Scalar = tf.Scalar;
export type Tensor1D = tf.Tensor1D;
/** A batch of images, NHWC with one channel: [n, height, width, 1]. */
export type ImageBatch = tf.Tensor4D;

/** ⟨a, b⟩ over all entries, as a scalar tensor. */
export function dot(a: tf.Tensor, b: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.sum(tf.mul(a, b)));
}

/** ‖a‖² as a scalar tensor. */
export function squaredNorm(a: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.sum(tf.square(a)));
}

/** Reads several scalar tensors back in one synchronisation, then disposes them. */
export function readScalars(...scalars: tf.Tensor[]): number[] {
  const values = scalars.map((s) => s.dataSync()[0]);
  for (const s of scalars) s.dispose();
  return values;
}

/** Replaces `old` by `next` and disposes `old` (for loop-carried tensors). */
export function swap<T extends tf.Tensor>(old: T | undefined, next: T): T {
  if (old !== undefined && old !== next) old.dispose();
  return next;
}

/** Runs `fn` in a tensor scope: every tensor it creates is disposed afterwards (for non-tensor results). */
export function scoped<T>(fn: () => T): T {
  tf.engine().startScope();
  try {
    return fn();
  } finally {
    tf.engine().endScope();
  }
}
