import { tf, type Tensor } from '@bilevel/core';

type Tensor2D = tf.Tensor2D;
type Tensor3D = tf.Tensor3D;

/** The orthonormal n-point DFT matrix F = C − iS: C_jk = cos(2πjk/n)/√n, S_jk = sin(2πjk/n)/√n (F is symmetric). */
export function dftMatrices(n: number): { cos: Tensor2D; sin: Tensor2D } {
  const c = new Float32Array(n * n);
  const s = new Float32Array(n * n);
  const scale = 1 / Math.sqrt(n);
  for (let j = 0; j < n; j++) {
    for (let k = 0; k < n; k++) {
      // jk mod n keeps the angle small, so float64 cos/sin are exact to rounding at any n.
      const a = (2 * Math.PI * ((j * k) % n)) / n;
      c[j * n + k] = Math.cos(a) * scale;
      s[j * n + k] = Math.sin(a) * scale;
    }
  }
  return { cos: tf.tensor2d(c, [n, n]), sin: tf.tensor2d(s, [n, n]) };
}

/** The DFT pair of an h×w image grid, as real matrices (every backend has matMul; wasm has no complex kernels). */
export interface Dft2 {
  readonly h: { cos: Tensor2D; sin: Tensor2D };
  readonly w: { cos: Tensor2D; sin: Tensor2D };
}

export function dft2(h: number, w: number): Dft2 {
  return { h: dftMatrices(h), w: dftMatrices(w) };
}

/** A X B for a batch X [n, h, w] and matrices A [h, h], B [w, w]. */
function sandwich(a: Tensor2D, x: Tensor3D, b: Tensor2D): Tensor3D {
  const [n, h, w] = x.shape;
  // (A X) per image: A times the h×(n·w) matrix of all images side by side.
  const ax = tf.matMul(a, tf.reshape(tf.transpose(x, [1, 0, 2]), [h, n * w]));
  const axT = tf.transpose(tf.reshape(ax, [h, n, w]), [1, 0, 2]);
  return tf.reshape(tf.matMul(tf.reshape(axT, [n * h, w]), b), [n, h, w]) as Tensor3D;
}

/**
 * The orthonormal 2-D DFT of real images X [n, h, w]: F_h X F_w = (C_h X C_w − S_h X S_w) − i (S_h X C_w + C_h X S_w).
 * Returns [real, imaginary].
 */
export function forward2(d: Dft2, x: Tensor3D): [Tensor3D, Tensor3D] {
  return tf.tidy(() => {
    const re = tf.sub(sandwich(d.h.cos, x, d.w.cos), sandwich(d.h.sin, x, d.w.sin)) as Tensor3D;
    const im = tf.neg(tf.add(sandwich(d.h.sin, x, d.w.cos), sandwich(d.h.cos, x, d.w.sin))) as Tensor3D;
    return [re, im];
  });
}

/**
 * The real part of the inverse orthonormal 2-D DFT of Y = Yr + iYi: Re(conj(F_h) Y conj(F_w)) =
 * C_h Yr C_w − S_h Yi C_w − C_h Yi S_w − S_h Yr S_w (the adjoint of forward2, as a map to real images).
 */
export function inverseReal2(d: Dft2, re: Tensor3D, im: Tensor3D): Tensor3D {
  return tf.tidy(() => {
    const a = tf.sub(sandwich(d.h.cos, re, d.w.cos), sandwich(d.h.sin, im, d.w.cos));
    const b = tf.add(sandwich(d.h.cos, im, d.w.sin), sandwich(d.h.sin, re, d.w.sin));
    return tf.sub(a, b) as Tensor3D;
  });
}

export function disposeDft2(d: Dft2): void {
  tf.dispose([d.h.cos, d.h.sin, d.w.cos, d.w.sin] as Tensor[]);
}
