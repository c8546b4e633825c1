import { tf } from './tensor.js';

/**
 * The unit round-off u of the active backend's floats: 2⁻²³ for float32, 2⁻¹⁰ where a backend computes in float16
 * (tfjs `floatPrecision()`). The accuracy floors (ε, δ) are stated in u, so they follow the dtype.
 */
export function machineEpsilon(): number {
  return tf.backend().floatPrecision() === 16 ? 2 ** -10 : 2 ** -23;
}
