import { createHash } from 'node:crypto';
import { BilevelError } from '@bilevel/core';
import { decodeRaster8, luma8, pixelSha256, type Raster8 } from '../raster.js';
import { ChecksumError } from './errors.js';
import type { ManifestFile } from './manifest.js';

/** SHA-256 (hex) of bytes. */
export const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Throws ChecksumError unless the bytes have the file's SHA-256. */
export function checkBytes(file: ManifestFile, bytes: Uint8Array, from: string, fix: string): void {
  const got = sha256(bytes);
  if (got !== file.sha256) throw new ChecksumError(file.name, file.sha256, got, from, fix);
}

/** Decodes downloaded or cached PNG bytes; a corrupt file is a BilevelError naming it. */
export function decodeOrThrow(bytes: Uint8Array, what: string, fix: string): Raster8 {
  try {
    return decodeRaster8(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (e) {
    throw new BilevelError(`${what} is not a readable PNG (${(e as Error).message}); nothing was kept in the cache`, fix);
  }
}

/** Throws ChecksumError unless a raster's gray pixels hash to `expected`. */
export function checkPixels(name: string, img: Raster8, expected: string, from: string, fix: string): void {
  const got = pixelSha256(luma8(img));
  if (got !== expected) throw new ChecksumError(`${name} (its 8-bit gray pixels)`, expected, got, from, fix);
}

/** Whether a cached file is the manifest's: its bytes' SHA-256, or (derived and generated sets) its gray pixels'. */
export function cachedFileIsValid(file: ManifestFile, bytes: Uint8Array): boolean {
  if (sha256(bytes) === file.sha256) return true;
  if (!file.pixels) return false;
  try {
    const img = decodeRaster8(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    return img.width === file.width && img.height === file.height && pixelSha256(luma8(img)) === file.pixels;
  } catch {
    return false;
  }
}
