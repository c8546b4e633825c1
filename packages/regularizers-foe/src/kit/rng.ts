/** Seeded PRNG (mulberry32) with Gaussian samples (Box–Muller), for reproducible initialisations. */
export class Rng {
  private s: number;
  private spare: number | undefined;

  constructor(seed: number) {
    this.s = (Math.trunc(seed) >>> 0) ^ 0x85ebca6b;
  }

  uniform(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  normal(): number {
    if (this.spare !== undefined) {
      const v = this.spare;
      this.spare = undefined;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u)), a = 2 * Math.PI * this.uniform();
    this.spare = r * Math.sin(a);
    return r * Math.cos(a);
  }
}

/**
 * Xavier-normal (Glorot) weights of a convolution with `count` filters of `size` = s² taps each and
 * `inChannels` input channels (PyTorch's convention: fan_in = inChannels·s², fan_out = count·s²),
 * written filter after filter into `out` at `offset`; with `removeMean` each filter's mean is subtracted.
 */
export function xavierNormal(
  out: Float32Array, offset: number, count: number, size: number, inChannels: number, rng: Rng, removeMean = false,
): void {
  const fanIn = inChannels * size, fanOut = count * size;
  const std = Math.sqrt(2 / (fanIn + fanOut));
  const per = inChannels * size;
  for (let k = 0; k < count; k++) {
    const base = offset + k * per;
    let mean = 0;
    for (let i = 0; i < per; i++) {
      out[base + i] = std * rng.normal();
      mean += out[base + i];
    }
    if (removeMean) {
      mean /= per;
      for (let i = 0; i < per; i++) out[base + i] -= mean;
    }
  }
}
