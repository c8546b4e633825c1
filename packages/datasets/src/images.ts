import { resolve } from 'node:path';
import { ConfigError, tf, type ImageBatch, type ImageSource } from '@bilevel/core';
import { listPngs, loadPng, type GrayImage } from './png.js';
import { randomEllipsePhantom, sheppLogan } from './phantoms.js';
import { centerCrop, resize } from './resize.js';
import { Rng } from './random.js';
import { syntheticImage } from './synthetic.js';

/** Stacks equally sized grayscale images into [n, h, w, 1]. */
export function toBatch(images: readonly GrayImage[]): ImageBatch {
  const { height, width } = images[0];
  const data = new Float32Array(images.length * height * width);
  images.forEach((img, i) => data.set(img.data, i * height * width));
  return tf.tensor4d(data, [images.length, height, width, 1]);
}

/** Loads the images of a source (folder of PNGs, optionally resized or centre-cropped; synthetic; or phantoms); `baseDir` resolves relative paths. */
export function loadImages(source: ImageSource, path = 'data', baseDir = process.cwd()): GrayImage[] {
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
  const files = listPngs(resolve(baseDir, source.path), `${path}.path`);
  const offset = source.offset ?? 0;
  const chosen = files.slice(offset, source.count === undefined ? undefined : offset + source.count);
  if (chosen.length === 0) throw new ConfigError(`${path}.offset`, `no images left after skipping ${offset} of ${files.length}`, 'lower offset');
  if (source.count !== undefined && chosen.length < source.count) {
    throw new ConfigError(`${path}.count`, `asked for ${source.count} images but only ${chosen.length} are available`, `lower count to ≤ ${chosen.length}`);
  }
  const images = chosen.map((f) => loadPng(f, `${path}.path`));
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
