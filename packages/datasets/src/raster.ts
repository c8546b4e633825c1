import { createHash } from 'node:crypto';
import { PNG } from 'pngjs';
import type { GrayImage } from './png.js';

/** An 8-bit image, row-major, `channels` interleaved bytes per pixel (1: gray, 3: RGB). */
export interface Raster8 {
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  readonly data: Uint8Array;
}

/** Decodes a PNG's stored 8-bit values (no gamma or colour management): gray PNGs to 1 channel, others to RGB. */
export function decodeRaster8(buffer: Buffer): Raster8 {
  const png = PNG.sync.read(buffer);
  const { width, height, data } = png;
  const gray = (png as PNG & { colorType?: number }).colorType === 0 || (png as PNG & { colorType?: number }).colorType === 4;
  const channels = gray ? 1 : 3;
  const out = new Uint8Array(width * height * channels);
  for (let i = 0; i < width * height; i++) for (let c = 0; c < channels; c++) out[i * channels + c] = data[4 * i + c];
  return { width, height, channels, data: out };
}

/** ITU-R 601 luma with Pillow's convert('L') rounding: Y = (19595 R + 38470 G + 7471 B + 32768) >> 16. */
export function luma8(img: Raster8): Raster8 {
  if (img.channels === 1) return img;
  const n = img.width * img.height, ch = img.channels;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const p = i * ch;
    out[i] = (19595 * img.data[p] + 38470 * img.data[p + 1] + 7471 * img.data[p + 2] + 32768) >>> 16;
  }
  return { width: img.width, height: img.height, channels: 1, data: out };
}

/** An 8-bit grayscale PNG (colour type 0) of a 1-channel raster. */
export function encodeGray8(img: Raster8): Buffer {
  if (img.channels !== 1) throw new Error(`encodeGray8 needs 1 channel, got ${img.channels}`);
  const png = new PNG({ width: img.width, height: img.height, colorType: 0, inputColorType: 0, bitDepth: 8 });
  png.data = Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength);
  return PNG.sync.write(png, { colorType: 0, inputColorType: 0, bitDepth: 8 });
}

/** SHA-256 (hex) of a raster's bytes, row-major: what a "pixels" checksum in the dataset manifest is. */
export function pixelSha256(img: Raster8): string {
  return createHash('sha256').update(img.data).digest('hex');
}

/** A 1-channel raster as a [0, 1] GrayImage (v / 255). */
export function rasterToGray(img: Raster8, name?: string): GrayImage {
  if (img.channels !== 1) throw new Error(`rasterToGray needs 1 channel, got ${img.channels}`);
  return { width: img.width, height: img.height, data: Float32Array.from(img.data, (v) => v / 255), name };
}
