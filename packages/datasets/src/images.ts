import { resolve } from 'node:path';
import { ConfigError, tf, type ImageBatch, type ImageSource } from '@bilevel/core';
import { listPngs, loadPng, type GrayImage } from './png.js';
import { randomEllipsePhantom, sheppLogan } from './phantoms.js';
import { centerCrop, resize } from './resize.js';
import { Rng } from './random.js';
import { cachedDatasetFiles, ensureDataset } from './registry/dataset.js';
import { DataUnavailableError } from './registry/errors.js';
import { isDatasetName, type DatasetSource } from './registry/names.js';
import { dataSettings } from './registry/settings.js';
import { syntheticImage } from './synthetic.js';

/** Stacks equally sized grayscale images into [n, h, w, 1]. */
export function toBatch(images: readonly GrayImage[]): ImageBatch {
  const { height, width } = images[0];
  const data = new Float32Array(images.length * height * width);
  images.forEach((img, i) => data.set(img.data, i * height * width));
  return tf.tensor4d(data, [images.length, height, width, 1]);
}

/** Any image source of a config: a folder, synthetic images, phantoms, or a named data set of the registry. */
export type AnyImageSource = ImageSource | DatasetSource;

type FolderOrDataset = Extract<ImageSource, { source: 'folder' }> | DatasetSource;

type FileSelection = { count?: number; offset?: number; size?: [number, number]; fit?: 'resize' | 'crop' };

/** How to get a named data set into the cache, for errors on `<path>.source`. */
function fetchHint(name: string): string {
  return `run \`bilevel data fetch ${name}\`, or set BILEVEL_DATA_MIRROR to a local copy of the data (docs/datasets.md)`;
}

/** The PNG files a source reads: a folder's (sorted by name), or a named data set's cached files (manifest order). */
function sourceFiles(source: FolderOrDataset, path: string, baseDir: string): { files: string[]; field: string } {
  if (source.source === 'folder') return { files: listPngs(resolve(baseDir, source.path), `${path}.path`), field: `${path}.path` };
  const files = cachedDatasetFiles(source.source);
  if (!files) throw new ConfigError(`${path}.source`, `data set "${source.source}" is not in the cache (${dataSettings().cacheDir})`, fetchHint(source.source));
  return { files, field: `${path}.source` };
}

/** Loads the images of a source (folder of PNGs or a named data set, optionally resized or centre-cropped; synthetic; or phantoms); `baseDir` resolves relative paths. */
export function loadImages(source: AnyImageSource, path = 'data', baseDir = process.cwd()): GrayImage[] {
  if (source.source === 'synthetic') {
    const seed = source.seed ?? 1000;
    return Array.from({ length: source.count }, (_, i) => syntheticImage(source.size[0], source.size[1], seed + i));
  }
  if (source.source === 'phantoms') {
    const [h, w] = source.size;
    if (source.kind === 'shepp-logan') return Array.from({ length: source.count }, () => sheppLogan(h, w));
    const seed = source.seed ?? 2000;
    return Array.from({ length: source.count }, (_, i) => randomEllipsePhantom(h, w, seed + i));
  }
  const { files, field } = sourceFiles(source, path, baseDir);
  return fitImages(selectFiles(files, source, path).map((f) => loadPng(f, field)), source, path);
}

/** The files after `offset`, `count` of them (all when count is absent). */
function selectFiles(files: string[], source: FileSelection, path: string): string[] {
  const offset = source.offset ?? 0;
  const chosen = files.slice(offset, source.count === undefined ? undefined : offset + source.count);
  if (chosen.length === 0) throw new ConfigError(`${path}.offset`, `no images left after skipping ${offset} of ${files.length}`, 'lower offset');
  if (source.count !== undefined && chosen.length < source.count) {
    throw new ConfigError(`${path}.count`, `asked for ${source.count} images but only ${chosen.length} are available`, `lower count to ≤ ${chosen.length}`);
  }
  return chosen;
}

/** Brings images to `size` (resize or centre crop); without a size they must all be the size of the first. */
function fitImages(images: GrayImage[], source: FileSelection, path: string): GrayImage[] {
  const [h, w] = source.size ?? [images[0].height, images[0].width];
  return images.map((img) => {
    if (!source.size && (img.height !== h || img.width !== w)) {
      throw new ConfigError(`${path}.size`, `images differ in size (${img.name}: ${img.height}×${img.width}, expected ${h}×${w})`, 'set size: [height, width] to resize them all');
    }
    if (source.fit !== 'crop') return resize(img, h, w);
    if (img.height < h || img.width < w) {
      throw new ConfigError(`${path}.fit`, `cannot crop ${img.name} (${img.height}×${img.width}) to ${h}×${w}`, `lower size to at most ${img.height}×${img.width}, or use fit: "resize"`);
    }
    return centerCrop(img, h, w);
  });
}

/**
 * Gets a named data set's files into the cache before loadImages reads them (a no-op for other sources): fetched from
 * the mirror or upstream, or with `download: false` only checked to be there. Failures are a ConfigError on
 * `<path>.source` saying how to get the data.
 */
export async function ensureImageSource(source: AnyImageSource, path = 'data', o: { download?: boolean } = {}): Promise<void> {
  if (!isDatasetName(source.source)) return;
  try {
    await ensureDataset(source.source, { download: o.download });
  } catch (e) {
    if (!(e instanceof DataUnavailableError)) throw e;
    throw new ConfigError(`${path}.source`, e.message.split('\n')[0], e.fix);
  }
}

// The noise models (addNoise, and addGaussianNoise for existing callers) live in noise.ts.

/** Splits images into train and test by a seeded shuffle. */
export function trainTestSplit<T>(items: readonly T[], testCount: number, seed: number): { train: T[]; test: T[] } {
  const order = items.map((_, i) => i);
  const rng = new Rng(seed);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return { test: order.slice(0, testCount).map((i) => items[i]), train: order.slice(testCount).map((i) => items[i]) };
}
