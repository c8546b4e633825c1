/**
 * Seeded PRNG (mulberry32) with Gaussian samples (Box–Muller): the same seed gives the same numbers on every
 * backend and machine. `salt` is mixed into the seed so independent streams can share a seed.
 */
export class Rng {
  private s: number;
  private spare: number | undefined;
  constructor(seed: number, salt = 0x9e3779b9) {
    this.s = (Math.trunc(seed) >>> 0) ^ salt;
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
  /** Current state, for checkpoints. */
  get state(): number {
    return this.s;
  }
}
