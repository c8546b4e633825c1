/**
 * Rigorous upper bound of  sup_ω q(ω),  q(ω) = Σ_k d_k |ĉ_k(ω)|²,  ĉ_k(ω) = Σ_{i,j} c_k[i, j] e^{i(ω₁ i + ω₂ j)},
 * for real kernels c_k of size h×w (row-major) and weights d_k ≥ 0. This is ‖Σ_k d_k C_kᵀC_k‖ for the
 * convolutions C_k on ℓ²(ℤ²), hence an upper bound of the same quantity for 'valid' convolutions on any image.
 *
 * q is a trigonometric polynomial of degree h − 1 in ω₁ and w − 1 in ω₂. It is evaluated on an M₁×M₂ grid
 * (half of it: q(−ω) = q(ω)); by Bernstein's inequality |∂ᵢq| ≤ degᵢ ‖q‖∞, and every ω lies within π/Mᵢ of a
 * grid point in each coordinate, so  ‖q‖∞ ≤ max_grid q / (1 − π((h−1)/M₁ + (w−1)/M₂)).
 * With Mᵢ = oversample·(degᵢ) the factor is 1/(1 − 2π/oversample) (1.24 for the default 32).
 * Cost: O(K·M₁·M₂·h) flops on the CPU.
 */
export function multiplierBound(kernels: readonly ArrayLike<number>[], h: number, w: number, weights?: ArrayLike<number>, oversample = 32): number {
  const { max, slack } = multiplierGrid(kernels, h, w, weights, oversample);
  return (max / slack) * (1 + 1e-6);
}

/** max_grid q and the Bernstein slack 1 − π((h−1)/M₁ + (w−1)/M₂) of `multiplierBound` (max_grid q ≤ sup q ≤ max/slack). */
export function multiplierGrid(kernels: readonly ArrayLike<number>[], h: number, w: number, weights?: ArrayLike<number>, oversample = 32): { max: number; slack: number } {
  const deg1 = h - 1, deg2 = w - 1;
  const M1 = Math.max(8, 2 * Math.ceil((oversample * Math.max(deg1, 1)) / 2));
  const M2 = Math.max(8, 2 * Math.ceil((oversample * Math.max(deg2, 1)) / 2));
  const half = M1 / 2 + 1;
  const q = new Float64Array(half * M2);
  // e^{iω n} tables.
  const cos2 = new Float64Array(M2 * w), sin2 = new Float64Array(M2 * w);
  for (let b = 0; b < M2; b++) for (let j = 0; j < w; j++) {
    const a = (2 * Math.PI * b * j) / M2;
    cos2[b * w + j] = Math.cos(a);
    sin2[b * w + j] = Math.sin(a);
  }
  const cos1 = new Float64Array(half * h), sin1 = new Float64Array(half * h);
  for (let a = 0; a < half; a++) for (let i = 0; i < h; i++) {
    const t = (2 * Math.PI * a * i) / M1;
    cos1[a * h + i] = Math.cos(t);
    sin1[a * h + i] = Math.sin(t);
  }
  const re = new Float64Array(h * M2), im = new Float64Array(h * M2);
  kernels.forEach((c, k) => {
    const d = weights ? weights[k] : 1;
    if (!(d > 0)) return;
    // Row transforms R[i][b] = Σ_j c[i][j] e^{iω₂ j}.
    for (let i = 0; i < h; i++) for (let b = 0; b < M2; b++) {
      let sr = 0, si = 0;
      for (let j = 0; j < w; j++) {
        const v = c[i * w + j];
        sr += v * cos2[b * w + j];
        si += v * sin2[b * w + j];
      }
      re[i * M2 + b] = sr;
      im[i * M2 + b] = si;
    }
    for (let a = 0; a < half; a++) {
      const row = a * M2;
      for (let b = 0; b < M2; b++) {
        let sr = 0, si = 0;
        for (let i = 0; i < h; i++) {
          const cr = cos1[a * h + i], ci = sin1[a * h + i];
          const xr = re[i * M2 + b], xi = im[i * M2 + b];
          sr += xr * cr - xi * ci;
          si += xr * ci + xi * cr;
        }
        q[row + b] += d * (sr * sr + si * si);
      }
    }
  });
  let max = 0;
  for (let i = 0; i < q.length; i++) if (q[i] > max) max = q[i];
  return { max, slack: 1 - Math.PI * (deg1 / M1 + deg2 / M2) };
}

/** ‖c‖₁ of a kernel (Young: ‖C‖ ≤ ‖c‖₁ for a single-channel convolution). */
export function l1(c: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < c.length; i++) s += Math.abs(c[i]);
  return s;
}

/** Bound of ‖S‖₂ for a matrix with non-negative or signed entries (Schur test: √(‖S‖₁‖S‖∞) on |S|). */
export function schurBound(S: ArrayLike<number>, rows: number, cols: number): number {
  const r = new Float64Array(rows), c = new Float64Array(cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) {
    const v = Math.abs(S[i * cols + j]);
    r[i] += v;
    c[j] += v;
  }
  return Math.sqrt(Math.max(0, ...r) * Math.max(0, ...c));
}

/** Memoises `fn` on the last θ it saw (curvature is asked many times at the same θ). */
export function lastValueCache<T>(fn: (theta: Float32Array) => T): (theta: Float32Array) => T {
  let key: Float32Array | undefined;
  let value: T;
  return (theta) => {
    if (key && key.length === theta.length && key.every((v, i) => v === theta[i])) return value;
    value = fn(theta);
    key = Float32Array.from(theta);
    return value;
  };
}

/** lastValueCache per image shape (h×w; '' for any shape): for curvature(θ, imageShape?) bounds that use the shape. */
export function shapeCache<T>(fn: (theta: Float32Array, imageShape?: readonly number[]) => T): (theta: Float32Array, imageShape?: readonly number[]) => T {
  const byShape = new Map<string, (theta: Float32Array) => T>();
  return (theta, imageShape) => {
    const key = imageShape ? imageShape.slice(1, 3).join('×') : '';
    let cached = byShape.get(key);
    if (!cached) byShape.set(key, (cached = lastValueCache((t) => fn(t, imageShape))));
    return cached(theta);
  };
}
