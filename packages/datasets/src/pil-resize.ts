// Pillow's antialiased bilinear resize of 8-bit images (Image.resize(size, Resampling.BILINEAR), libImaging/Resample.c),
// reproduced in its integer arithmetic: the MAID experiments prepare their 96×96 and 256×256 Kodak sets with it.

import type { Raster8 } from './raster.js';

/** Fixed-point bits of Pillow's 8-bit coefficients (PRECISION_BITS = 32 − 8 − 2). */
const PRECISION_BITS = 22;

/** Per output sample: first input index, number of taps, and the taps' fixed-point weights (ksize apart). */
interface Coefficients {
  readonly bounds: Int32Array;
  readonly weights: Float64Array;
  readonly ksize: number;
}

/** The triangle filter t(x) = max(0, 1 − |x|) (support 1). */
const triangle = (x: number): number => {
  const a = Math.abs(x);
  return a < 1 ? 1 - a : 0;
};

/**
 * Pillow's precompute_coeffs + normalize_coeffs_8bpc for inSize → outSize: scale s = inSize/outSize, support
 * max(s, 1); output j centred at c = (j + ½)s uses inputs ⌊c − support + ½⌋ … ⌊c + support + ½⌋ − 1 (clamped), weighted
 * t((i − c + ½)/max(s, 1)) normalised to sum 1, then rounded to multiples of 2⁻²².
 */
export function pilCoefficients(inSize: number, outSize: number): Coefficients {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = 1 * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const weights = new Float64Array(outSize * ksize);
  const ss = 1 / filterscale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    const k = new Float64Array(xmax);
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      k[x] = triangle((x + xmin - center + 0.5) * ss);
      ww += k[x];
    }
    for (let x = 0; x < xmax; x++) {
      const w = ww !== 0 ? k[x] / ww : k[x];
      weights[xx * ksize + x] = w < 0 ? Math.trunc(-0.5 + w * (1 << PRECISION_BITS)) : Math.trunc(0.5 + w * (1 << PRECISION_BITS));
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { bounds, weights, ksize };
}

/** Pillow's clip8: the fixed-point sum back to a byte (⌊s / 2²²⌋ clamped to [0, 255]). */
function clip8(s: number): number {
  if (s >= 255 * 2 ** PRECISION_BITS + 2 ** PRECISION_BITS) return 255;
  if (s <= 0) return 0;
  return Math.floor(s / 2 ** PRECISION_BITS);
}

/** One pass along rows (horizontal) or columns (vertical), each channel separately, rounding to bytes. */
function pass(src: Raster8, outW: number, outH: number, c: Coefficients, horizontal: boolean, rowOffset: number): Raster8 {
  const ch = src.channels;
  const out = new Uint8Array(outW * outH * ch);
  const half = 2 ** (PRECISION_BITS - 1);
  for (let yy = 0; yy < outH; yy++) for (let xx = 0; xx < outW; xx++) {
    const o = horizontal ? xx : yy;
    const min = c.bounds[o * 2], n = c.bounds[o * 2 + 1], k = o * c.ksize;
    const first = horizontal ? ((yy + rowOffset) * src.width + min) * ch : (min * src.width + xx) * ch;
    const step = horizontal ? ch : src.width * ch;
    for (let b = 0; b < ch; b++) {
      let s = half;
      for (let t = 0; t < n; t++) s += src.data[first + t * step + b] * c.weights[k + t];
      out[(yy * outW + xx) * ch + b] = clip8(s);
    }
  }
  return { width: outW, height: outH, channels: ch, data: out };
}

/**
 * Image.resize((width, height), BILINEAR) of an 8-bit image (any number of channels, each resampled alike): a
 * horizontal pass over the rows the vertical pass needs, rounded to bytes, then a vertical pass (as ImagingResampleInner).
 */
export function pilResizeBilinear(src: Raster8, width: number, height: number): Raster8 {
  const needH = width !== src.width, needV = height !== src.height;
  const horiz = pilCoefficients(src.width, width);
  const vert = pilCoefficients(src.height, height);
  let img = src;
  if (needH) {
    const first = vert.bounds[0];
    const last = vert.bounds[height * 2 - 2] + vert.bounds[height * 2 - 1];
    for (let i = 0; i < height; i++) vert.bounds[i * 2] -= first;
    img = pass(src, width, last - first, horiz, true, first);
  }
  if (needV) img = pass(img, img.width, height, vert, false, 0);
  return img;
}
