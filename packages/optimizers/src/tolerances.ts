import type { Oracle } from '@bilevel/core';

/**
 * Per-element tolerances: optimizers state ε and δ as root-mean-square values per unknown, so one config means the same
 * accuracy at any image size and batch. The oracle's certificates are Euclidean over its N = size·pixels unknowns:
 *   ‖x̃ − x̂‖ ≤ ε·√N,   ‖Bq̃ − ∇g(x̃)‖ ≤ δ·L_g·√N
 * (δ in image units: ∇g = L_g(x − x*), so δ·L_g·√N is a residual of RMS δ in the equation B q/L_g = x − x*).
 */
export interface ToleranceScale {
  /** √N: an RMS accuracy ε is the Euclidean ε·x. */
  readonly x: number;
  /** L_g·√N: an RMS residual δ is the Euclidean δ·residual. */
  readonly residual: number;
  /** Unknowns per image P (f, a mean over images of a sum over P unknowns, scales with P). */
  readonly pixels: number;
}

export function toleranceScale(oracle: Pick<Oracle, 'size' | 'pixels' | 'upperLipschitz'>): ToleranceScale {
  const root = Math.sqrt(oracle.size * oracle.pixels);
  return { x: root, residual: root * oracle.upperLipschitz, pixels: oracle.pixels };
}
