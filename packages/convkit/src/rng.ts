import { Rng } from '@bilevel/core';

export { Rng };

/** The seed salt of filter initialisations (keeps the reference initialisations of earlier versions). */
export const INIT_SALT = 0x85ebca6b;

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
