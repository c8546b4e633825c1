export interface PowerIterationOptions {
  /** Stop when the Rayleigh quotient changes by less than this, relatively. */
  tolerance?: number;
  maxIterations?: number;
  seed?: number;
}

/** Multiplies the power-iteration estimate (a lower estimate of λ_max) so that it is an upper estimate. */
export const NORM_SAFETY_FACTOR = 1.01;

/**
 * A CPU copy of a linear operator on one flattened image (float64, row-major): what an operator builds its ‖A‖²
 * from without touching a tensor, so that `normSquared()` stays synchronous and reads nothing back.
 */
export interface HostLinearMap {
  /** Number of pixels h·w of the domain. */
  readonly domainSize: number;
  apply(x: Float64Array): Float64Array;
  adjoint(y: Float64Array): Float64Array;
}

/** Baagoe's Mash hash, as seedrandom's Alea seeds itself with it. */
function mash(): (data: string) => number {
  let n = 0xefc8249d;
  return (data) => {
    for (let i = 0; i < data.length; i++) {
      n += data.charCodeAt(i);
      let h = 0.02519603282416938 * n;
      n = h >>> 0;
      h -= n;
      h *= n;
      n = h >>> 0;
      h -= n;
      n += h * 0x100000000;
    }
    return (n >>> 0) * 2.3283064365386963e-10;
  };
}

/** seedrandom's Alea generator (uniform on [0, 1)), the one tf.random* ops draw from. */
function alea(seed: string): () => number {
  const m = mash();
  let c = 1, s0 = m(' '), s1 = m(' '), s2 = m(' ');
  s0 -= m(seed);
  if (s0 < 0) s0 += 1;
  s1 -= m(seed);
  if (s1 < 0) s1 += 1;
  s2 -= m(seed);
  if (s2 < 0) s2 += 1;
  return () => {
    const t = 2091639 * s0 + c * 2.3283064365386963e-10;
    s0 = s1;
    s1 = s2;
    return (s2 = t - (c = t | 0));
  };
}

/**
 * n float32 N(0, 1) samples, the values of tf.randomNormal([n], 0, 1, 'float32', seed) (seed ≠ 0): Marsaglia's
 * polar method on Alea(String(seed)), pairs (v₁, v₂) uniform in the unit disk, x = v √(−2 ln s / s), s = |v|².
 */
export function seededNormal(n: number, seed: number): Float32Array {
  const random = alea(seed.toString());
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    let v1: number, v2: number, s: number;
    do {
      v1 = 2 * random() - 1;
      v2 = 2 * random() - 1;
      s = v1 * v1 + v2 * v2;
    } while (s >= 1 || s === 0);
    const mul = Math.sqrt((-2.0 * Math.log(s)) / s);
    out[i] = v1 * mul;
    if (i + 1 < n) out[i + 1] = v2 * mul;
  }
  return out;
}

/**
 * λ_max(AᵀA) = ‖A‖² by power iteration on AᵀA in float64 on the CPU, from the seeded random image of
 * tf.randomNormal([1, h, w, 1], 0, 1, 'float32', seed): v ← AᵀA v/‖v‖, returning the converged Rayleigh
 * quotient ‖A v/‖v‖‖² (stops when it changes by ≤ tolerance relatively, after at least 4 iterations).
 */
export function powerIteration(map: HostLinearMap, o: PowerIterationOptions = {}): number {
  const tol = o.tolerance ?? 1e-5, maxIt = o.maxIterations ?? 200;
  let v: Float64Array = Float64Array.from(seededNormal(map.domainSize, o.seed ?? 1234));
  let estimate = 0;
  for (let k = 0; k < maxIt; k++) {
    let vv = 0;
    for (let i = 0; i < v.length; i++) vv += v[i] * v[i];
    const scale = 1 / Math.sqrt(vv);
    const av = map.apply(v.map((t) => t * scale));
    let q = 0;
    for (let i = 0; i < av.length; i++) q += av[i] * av[i];
    v = map.adjoint(av);
    if (!(q > 0)) return 0;
    const done = Math.abs(q - estimate) <= tol * q;
    estimate = q;
    if (done && k >= 3) break;
  }
  return estimate;
}
