/** Fixed filter families for initialisations (finite differences, DCT atoms). */

/** Up to 8 unit-norm finite-difference filters of size s×s (s ≥ 3), anchored at the window centre. */
export function derivativeFilters(s: number, K: number): Float64Array[] {
  const m = Math.floor((s - 1) / 2);
  const stencils: [number, number, number][][] = [
    [[0, 0, -1], [0, 1, 1]],
    [[0, 0, -1], [1, 0, 1]],
    [[0, 0, -1], [1, 1, 1]],
    [[0, 1, -1], [1, 0, 1]],
    [[0, -1, 1], [0, 0, -2], [0, 1, 1]],
    [[-1, 0, 1], [0, 0, -2], [1, 0, 1]],
    [[0, 0, 1], [0, 1, -1], [1, 0, -1], [1, 1, 1]],
    [[-1, 0, 1], [0, -1, 1], [0, 0, -4], [0, 1, 1], [1, 0, 1]],
  ];
  return stencils.slice(0, K).map((st) => {
    const c = new Float64Array(s * s);
    const norm = Math.sqrt(st.reduce((a, [, , v]) => a + v * v, 0));
    for (const [di, dj, v] of st) c[(m + di) * s + (m + dj)] = v / norm;
    return c;
  });
}

/** The K lowest-frequency non-constant orthonormal 2-D DCT-II atoms of size s×s (by u + v, then u), row-major. */
export function dctAtoms(s: number, K: number): Float64Array[] {
  const pairs: [number, number][] = [];
  for (let u = 0; u < s; u++) for (let v = 0; v < s; v++) if (u + v > 0) pairs.push([u, v]);
  pairs.sort((p, q) => p[0] + p[1] - (q[0] + q[1]) || p[0] - q[0]);
  const c = (u: number, i: number) => (u === 0 ? Math.sqrt(1 / s) : Math.sqrt(2 / s)) * Math.cos((Math.PI * (2 * i + 1) * u) / (2 * s));
  return pairs.slice(0, K).map(([u, v]) => Float64Array.from({ length: s * s }, (_, n) => c(u, Math.floor(n / s)) * c(v, n % s)));
}
