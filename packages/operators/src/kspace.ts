import { BilevelError, Rng } from '@bilevel/core';

/** The k-space sampling patterns of the MRI operator. */
export const KSPACE_MASKS = ['cartesian', 'variable-density', 'radial'] as const;
export type KspaceMask = (typeof KSPACE_MASKS)[number];

export interface KspaceMaskOptions {
  mask: KspaceMask;
  /** R: about 1/R of k-space is sampled. */
  acceleration: number;
  /** Fraction of the lowest frequencies (lines, or the central square) sampled fully. */
  centerFraction: number;
  seed: number;
}

/** Signed frequency of DFT index j of n (0 is the DC term; indices above n/2 are negative frequencies). */
export const frequency = (j: number, n: number) => (j < n / 2 ? j : j - n);

/**
 * Cartesian undersampling (as fastMRI's random mask): whole phase-encode lines (rows), the ⌈c·h⌉ lowest frequencies
 * always, the others drawn at random without replacement until h/R lines are sampled.
 */
function cartesian(h: number, w: number, o: KspaceMaskOptions): Uint8Array {
  const total = Math.max(1, Math.round(h / o.acceleration));
  const centre = Math.min(total, Math.max(1, Math.ceil(o.centerFraction * h)));
  const byFrequency = Array.from({ length: h }, (_, j) => j).sort((a, b) => Math.abs(frequency(a, h)) - Math.abs(frequency(b, h)) || a - b);
  const rows = new Set(byFrequency.slice(0, centre));
  const rest = byFrequency.slice(centre);
  const rng = new Rng(o.seed, 0x4d5249);
  while (rows.size < total && rest.length) rows.add(rest.splice(Math.floor(rng.uniform() * rest.length), 1)[0]);
  const m = new Uint8Array(h * w);
  for (const r of rows) m.fill(1, r * w, (r + 1) * w);
  return m;
}

/**
 * Variable-density random sampling: a fully sampled central square of side c·min(h, w), and every other point with
 * probability p(r) = min(1, λ(1 − r)^4) in the normalised radius r ∈ [0, 1]; λ is set by bisection so that the
 * expected fraction is 1/R.
 */
function variableDensity(h: number, w: number, o: KspaceMaskOptions): Uint8Array {
  const half = (o.centerFraction * Math.min(h, w)) / 2;
  const radius = new Float64Array(h * w);
  const centre = new Uint8Array(h * w);
  for (let j = 0; j < h; j++) for (let k = 0; k < w; k++) {
    const fy = frequency(j, h), fx = frequency(k, w);
    radius[j * w + k] = Math.min(1, Math.hypot(fy / (h / 2), fx / (w / 2)) / Math.SQRT2);
    centre[j * w + k] = Math.abs(fy) <= half && Math.abs(fx) <= half ? 1 : 0;
  }
  const target = (h * w) / o.acceleration;
  const expected = (lambda: number) => radius.reduce((a, r, i) => a + (centre[i] ? 1 : Math.min(1, lambda * (1 - r) ** 4)), 0);
  let lo = 0, hi = 1;
  while (expected(hi) < target && hi < 1e9) hi *= 2;
  for (let it = 0; it < 60; it++) {
    const mid = (lo + hi) / 2;
    if (expected(mid) < target) lo = mid;
    else hi = mid;
  }
  const rng = new Rng(o.seed, 0x564452);
  return Uint8Array.from(radius, (r, i) => (centre[i] || rng.uniform() < Math.min(1, hi * (1 - r) ** 4) ? 1 : 0));
}

/** Radial sampling: spokes through the k-space centre at golden-angle steps (111.25°), added until 1/R is sampled. */
function radial(h: number, w: number, o: KspaceMaskOptions): Uint8Array {
  const m = new Uint8Array(h * w);
  const target = (h * w) / o.acceleration;
  const golden = Math.PI * (3 - Math.sqrt(5));
  let count = 0;
  const mark = (fy: number, fx: number) => {
    const j = ((Math.round(fy) % h) + h) % h, k = ((Math.round(fx) % w) + w) % w;
    if (!m[j * w + k]) count++;
    m[j * w + k] = 1;
  };
  const length = Math.hypot(h, w) / 2;
  for (let spoke = 0; count < target && spoke < 4 * (h + w); spoke++) {
    const a = spoke * golden;
    for (let t = -length; t <= length; t += 0.5) mark(t * Math.sin(a), t * Math.cos(a));
  }
  return m;
}

/** A 0/1 sampling mask on the unshifted h×w DFT grid (row-major), seeded. */
export function kspaceMask(h: number, w: number, o: KspaceMaskOptions): Uint8Array {
  if (!(o.acceleration >= 1)) throw new BilevelError(`acceleration must be at least 1, got ${o.acceleration}`, 'pass e.g. 4');
  switch (o.mask) {
    case 'cartesian': return cartesian(h, w, o);
    case 'variable-density': return variableDensity(h, w, o);
    case 'radial': return radial(h, w, o);
  }
}
