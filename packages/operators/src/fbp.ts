export const FBP_FILTERS = ['ramp', 'shepp-logan', 'cosine', 'hann'] as const;
export type FbpFilter = (typeof FBP_FILTERS)[number];

/** Frequency window (f in cycles per detector sample, |f| ≤ ½) applied to the ramp. */
function window(filter: FbpFilter, f: number): number {
  switch (filter) {
    case 'ramp':
      return 1;
    case 'shepp-logan':
      return f === 0 ? 1 : Math.sin(Math.PI * f) / (Math.PI * f);
    case 'cosine':
      return Math.cos(Math.PI * f);
    case 'hann':
      return Math.cos(Math.PI * f) ** 2;
  }
}

/**
 * The FBP filter kernel in detector samples (unit spacing), lags −(P/2 − 1)..P/2 stored circularly in a
 * length-P array (P ≥ 2·detectors, a power of two): the band-limited ramp (Ram–Lak) h[0] = ¼,
 * h[k odd] = −1/(π²k²), h[k even] = 0, multiplied in frequency by the window (Kak & Slaney, ch. 3).
 */
export function filterKernel(detectors: number, filter: FbpFilter): Float64Array {
  let P = 1;
  while (P < 2 * detectors) P *= 2;
  const h = new Float64Array(P);
  for (let i = 0; i < P; i++) {
    const k = i <= P / 2 ? i : i - P;
    h[i] = k === 0 ? 0.25 : k % 2 === 0 ? 0 : -1 / (Math.PI * Math.PI * k * k);
  }
  if (filter === 'ramp') return h;
  // h is real and even: H[m] = Σ_i h[i] cos(2π i m / P); windowed, then transformed back (also even).
  const cos = Float64Array.from({ length: P }, (_, i) => Math.cos((2 * Math.PI * i) / P));
  const H = new Float64Array(P);
  for (let m = 0; m < P; m++) {
    let s = 0;
    for (let i = 0; i < P; i++) s += h[i] * cos[(i * m) % P];
    H[m] = s * window(filter, (m <= P / 2 ? m : m - P) / P);
  }
  const out = new Float64Array(P);
  for (let i = 0; i < P; i++) {
    let s = 0;
    for (let m = 0; m < P; m++) s += H[m] * cos[(i * m) % P];
    out[i] = s / P;
  }
  return out;
}

/** F[m, j] = kernel[j − m]: filtered = sinogram @ F along the detector axis (linear, not circular). */
export function filterMatrix(detectors: number, filter: FbpFilter): Float32Array {
  const k = filterKernel(detectors, filter);
  const P = k.length;
  const F = new Float32Array(detectors * detectors);
  for (let m = 0; m < detectors; m++) for (let j = 0; j < detectors; j++) F[m * detectors + j] = k[(((j - m) % P) + P) % P];
  return F;
}

/**
 * Angular quadrature weights of ∫₀^π dθ for the given angles (radians): midpoint rule on the angles taken
 * modulo π, periodic when they cover the half circle (the wrap-around gap is no wider than 1.5 × the median
 * gap), otherwise with each end weighted by half its one gap plus half the median gap (limited angle).
 */
export function fbpAngleWeights(angles: readonly number[]): Float64Array {
  const A = angles.length;
  const out = new Float64Array(A);
  if (A === 1) {
    out[0] = Math.PI;
    return out;
  }
  const mod = angles.map((t) => ((t % Math.PI) + Math.PI) % Math.PI);
  const order = mod.map((_, i) => i).sort((a, b) => mod[a] - mod[b]);
  const sorted = order.map((i) => mod[i]);
  const gaps = sorted.slice(1).map((t, i) => t - sorted[i]);
  const wrap = Math.PI - sorted[A - 1] + sorted[0];
  const median = [...gaps].sort((a, b) => a - b)[Math.floor(gaps.length / 2)];
  const periodic = wrap <= 1.5 * median + 1e-12;
  order.forEach((idx, k) => {
    const before = k > 0 ? gaps[k - 1] : periodic ? wrap : median;
    const after = k < A - 1 ? gaps[k] : periodic ? wrap : median;
    out[idx] = (before + after) / 2;
  });
  return out;
}
