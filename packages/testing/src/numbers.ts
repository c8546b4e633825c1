/** n seeded uniform values in [lo, hi) (a 32-bit LCG: fixtures that are the same on every backend and machine). */
export function uniformValues(seed: number, n: number, lo = -0.5, hi = 0.5): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return lo + (hi - lo) * (s / 2 ** 32);
  });
}

/** max_i |a_i − b_i| / max_i |b_i| (the absolute error when b = 0): max-norm relative error of a against b. */
export function maxRelativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0, m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return m === 0 ? d : d / m;
}
