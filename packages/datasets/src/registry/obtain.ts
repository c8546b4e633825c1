import { BilevelError } from '@bilevel/core';
import { pilResizeBilinear } from '../pil-resize.js';
import { encodeGray8, luma8, type Raster8 } from '../raster.js';
import { cachedPath, commitVerified } from './cache.js';
import { DownloadError } from './errors.js';
import { fetchBytes, mirrorLocation } from './fetch.js';
import { GENERATORS } from './generators.js';
import { originalLumaHash, type DatasetEntry, type ManifestFile } from './manifest.js';
import type { DataSettings } from './settings.js';
import { checkBytes, checkPixels, decodeOrThrow } from './verify.js';

/** Where a file put into the cache came from. */
export type Provenance = 'mirror' | 'upstream' | 'generated';

const upstreamFix = (name: string) => `run \`bilevel data fetch ${name} --force\` to try again; if it keeps failing the upstream file has changed: set BILEVEL_DATA_MIRROR to a verified copy (docs/datasets.md)`;
const mirrorFix = (mirror: string) => `the copy in BILEVEL_DATA_MIRROR (${mirror}) is not the manifest's file: replace it with a good copy (e.g. from ../shared/data), or unset BILEVEL_DATA_MIRROR to download it`;

/** The mirror's copy of a file, or undefined when the mirror has none (other failures throw). */
async function fromMirror(mirror: string, entry: DatasetEntry, file: ManifestFile, s: DataSettings): Promise<Buffer | undefined> {
  try {
    return await fetchBytes(mirrorLocation(mirror, entry.folder, file.name), s.fetch);
  } catch (e) {
    if (e instanceof DownloadError && e.notFound) return undefined;
    throw e;
  }
}

/** A colour original, decoded; checked through its luma against the `luma` set made from it, when the manifest has that. */
async function colourOriginal(entry: DatasetEntry, file: ManifestFile, s: DataSettings): Promise<Raster8> {
  const url = file.original!;
  const img = decodeOrThrow(await fetchBytes(url, s.fetch), url, upstreamFix(entry.name));
  const luma = originalLumaHash(s.manifest, url);
  if (luma) checkPixels(`colour original ${file.name}`, img, luma, url, upstreamFix(entry.name));
  return img;
}

/** The 8-bit gray image a derived or generated file must be, made here from its source. */
async function derive(entry: DatasetEntry, file: ManifestFile, s: DataSettings): Promise<Raster8> {
  if (entry.origin === 'generated') {
    const make = GENERATORS[entry.name];
    if (!make) throw new BilevelError(`no generator for data set "${entry.name}"`, 'set BILEVEL_DATA_MIRROR to a copy of it');
    return make(file.width, file.height);
  }
  const colour = await colourOriginal(entry, file, s);
  if (entry.origin === 'luma') return luma8(colour);
  const [w, h] = entry.resize!;
  return luma8(pilResizeBilinear(colour, w, h));
}

/** Why a derived file may differ from the reference preparation, and what to do. */
function deriveFix(entry: DatasetEntry): string {
  if (entry.origin !== 'resize-luma') return upstreamFix(entry.name);
  return `this ${entry.resize!.join('×')} preparation is made here by a reproduction of Pillow's bilinear resize, checked against Pillow on test images but not on the Kodak originals; use a mirror that holds ${entry.folder}/ (BILEVEL_DATA_MIRROR, e.g. ../shared/data), see docs/datasets.md`;
}

/**
 * Puts one file of a data set into the cache, verified: the mirror's copy when BILEVEL_DATA_MIRROR has it (SHA-256 of
 * its bytes), else from upstream: a byte-for-byte copy downloaded (SHA-256), or a gray image converted from its colour
 * original or generated here (SHA-256 of its 8-bit pixels).
 */
export async function obtainFile(entry: DatasetEntry, file: ManifestFile, s: DataSettings): Promise<Provenance> {
  const dest = cachedPath(s.cacheDir, entry, file);
  if (s.mirror) {
    const bytes = await fromMirror(s.mirror, entry, file, s);
    const from = mirrorLocation(s.mirror, entry.folder, file.name);
    if (bytes) {
      commitVerified(dest, bytes, (b) => checkBytes(file, b, from, mirrorFix(s.mirror!)));
      return 'mirror';
    }
  }
  if (entry.origin === 'copy') {
    const bytes = await fetchBytes(file.url!, s.fetch);
    commitVerified(dest, bytes, (b) => checkBytes(file, b, file.url!, upstreamFix(entry.name)));
    return 'upstream';
  }
  const img = await derive(entry, file, s);
  const from = entry.origin === 'generated' ? 'the generator' : `the conversion of ${file.original}`;
  checkPixels(file.name, img, file.pixels!, from, deriveFix(entry));
  commitVerified(dest, encodeGray8(img), (b) => checkPixels(file.name, decodeOrThrow(b, dest, deriveFix(entry)), file.pixels!, dest, deriveFix(entry)));
  return entry.origin === 'generated' ? 'generated' : 'upstream';
}
