import type { GrayImage } from './png.js';
import { Rng } from './random.js';

/**
 * An ellipse on the phantom domain [−1, 1]² (x to the right, y up): intensity added inside
 * ((x′/a)² + (y′/b)² ≤ 1, with (x′, y′) the offset from (x0, y0) rotated by −phi degrees).
 */
export interface Ellipse {
  readonly intensity: number;
  readonly a: number;
  readonly b: number;
  readonly x0: number;
  readonly y0: number;
  /** Rotation in degrees, counter-clockwise. */
  readonly phi: number;
}

/**
 * The modified Shepp–Logan phantom (Toft's higher-contrast intensities; the ellipse table of MATLAB
 * phantom('Modified Shepp-Logan') and ODL shepp_logan(modified=True)). Values lie in {0, .1, .2, .3, .4, 1}.
 */
export const MODIFIED_SHEPP_LOGAN: readonly Ellipse[] = [
  { intensity: 1, a: 0.69, b: 0.92, x0: 0, y0: 0, phi: 0 },
  { intensity: -0.8, a: 0.6624, b: 0.874, x0: 0, y0: -0.0184, phi: 0 },
  { intensity: -0.2, a: 0.11, b: 0.31, x0: 0.22, y0: 0, phi: -18 },
  { intensity: -0.2, a: 0.16, b: 0.41, x0: -0.22, y0: 0, phi: 18 },
  { intensity: 0.1, a: 0.21, b: 0.25, x0: 0, y0: 0.35, phi: 0 },
  { intensity: 0.1, a: 0.046, b: 0.046, x0: 0, y0: 0.1, phi: 0 },
  { intensity: 0.1, a: 0.046, b: 0.046, x0: 0, y0: -0.1, phi: 0 },
  { intensity: 0.1, a: 0.046, b: 0.023, x0: -0.08, y0: -0.605, phi: 0 },
  { intensity: 0.1, a: 0.023, b: 0.023, x0: 0, y0: -0.606, phi: 0 },
  { intensity: 0.1, a: 0.023, b: 0.046, x0: 0.06, y0: -0.605, phi: 0 },
];

export interface RasterOptions {
  /** s × s point samples per pixel, averaged (1: the value at the pixel centre, as MATLAB and ODL do). */
  supersample?: number;
  /** Clip the summed intensities to [0, 1] (default true). */
  clip?: boolean;
  name?: string;
}

/**
 * Rasterises ellipses on a height × width grid covering [−1, 1]²: pixel (r, c) is centred at
 * x = −1 + (2c + 1)/width, y = 1 − (2r + 1)/height (row 0 at the top).
 */
export function ellipsePhantom(ellipses: readonly Ellipse[], height: number, width: number, o: RasterOptions = {}): GrayImage {
  const s = Math.max(1, Math.floor(o.supersample ?? 1));
  const data = new Float32Array(height * width);
  const prepared = ellipses.map((e) => {
    const t = (e.phi * Math.PI) / 180;
    return { ...e, c: Math.cos(t), s: Math.sin(t) };
  });
  for (let r = 0; r < height; r++) for (let col = 0; col < width; col++) {
    let sum = 0;
    for (let u = 0; u < s; u++) for (let v = 0; v < s; v++) {
      const x = -1 + (2 * (col + (v + 0.5) / s)) / width;
      const y = 1 - (2 * (r + (u + 0.5) / s)) / height;
      for (const e of prepared) {
        const dx = x - e.x0, dy = y - e.y0;
        const xr = dx * e.c + dy * e.s, yr = -dx * e.s + dy * e.c;
        if ((xr / e.a) ** 2 + (yr / e.b) ** 2 <= 1) sum += e.intensity;
      }
    }
    const v = sum / (s * s);
    data[r * width + col] = o.clip === false ? v : Math.min(1, Math.max(0, v));
  }
  return { height, width, data, name: o.name };
}

/** The modified Shepp–Logan phantom at any size. */
export function sheppLogan(height: number, width = height, o: RasterOptions = {}): GrayImage {
  return ellipsePhantom(MODIFIED_SHEPP_LOGAN, height, width, { name: 'shepp-logan', ...o });
}

/**
 * Seeded random ellipses: a body ellipse (intensity 0.25–0.6) holding 4–11 inner ellipses that add or
 * remove up to ±0.4 (the sum is clipped to [0, 1] when rasterised): piecewise-constant, like CT slices.
 */
export function randomEllipses(seed: number): Ellipse[] {
  const rng = new Rng(seed);
  const u = (lo: number, hi: number) => lo + (hi - lo) * rng.uniform();
  const bodyA = u(0.6, 0.9), bodyB = u(0.6, 0.9), bodyPhi = u(-30, 30);
  const out: Ellipse[] = [{ intensity: u(0.25, 0.6), a: bodyA, b: bodyB, x0: u(-0.05, 0.05), y0: u(-0.05, 0.05), phi: bodyPhi }];
  const inner = 4 + Math.floor(rng.uniform() * 8);
  for (let k = 0; k < inner; k++) {
    const rho = Math.sqrt(rng.uniform()) * 0.6, ang = u(0, 2 * Math.PI);
    out.push({
      intensity: u(-0.4, 0.4),
      a: u(0.03, 0.3) * bodyA,
      b: u(0.03, 0.3) * bodyB,
      x0: rho * bodyA * Math.cos(ang),
      y0: rho * bodyB * Math.sin(ang),
      phi: u(0, 180),
    });
  }
  return out;
}

/** A seeded random-ellipse phantom at any size. */
export function randomEllipsePhantom(height: number, width: number, seed: number, o: RasterOptions = {}): GrayImage {
  return ellipsePhantom(randomEllipses(seed), height, width, { name: `ellipses-${seed}`, ...o });
}

/**
 * Exact line integrals of the (unclipped) ellipse sum on [−1, 1]²: the ray {x cos θ + y sin θ = t} for each
 * angle θ (radians) and offset t (domain units), as [angles × offsets] row-major. An ellipse contributes
 * 2ab ρ √(a_θ² − τ²) / a_θ² with a_θ² = a² cos²(θ − φ) + b² sin²(θ − φ), τ = t − (x0 cos θ + y0 sin θ).
 */
export function ellipseLineIntegrals(ellipses: readonly Ellipse[], angles: readonly number[], offsets: readonly number[]): Float64Array {
  const out = new Float64Array(angles.length * offsets.length);
  angles.forEach((theta, k) => {
    const ct = Math.cos(theta), st = Math.sin(theta);
    for (const e of ellipses) {
      const d = theta - (e.phi * Math.PI) / 180;
      const a2 = e.a * e.a * Math.cos(d) ** 2 + e.b * e.b * Math.sin(d) ** 2;
      const centre = e.x0 * ct + e.y0 * st;
      offsets.forEach((t, j) => {
        const tau = t - centre;
        if (tau * tau < a2) out[k * offsets.length + j] += (2 * e.a * e.b * e.intensity * Math.sqrt(a2 - tau * tau)) / a2;
      });
    }
  });
  return out;
}
