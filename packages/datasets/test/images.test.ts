import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@bilevel/core';
import { loadImages } from '@bilevel/datasets';

/** Writes a 12×10 gray PNG whose pixel (i, j) is 10·i + j, and returns its folder. */
function folderWithGradient(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bilevel-images-'));
  const png = new PNG({ width: 10, height: 12 });
  for (let i = 0; i < 12; i++) for (let j = 0; j < 10; j++) {
    const o = 4 * (i * 10 + j);
    png.data[o] = png.data[o + 1] = png.data[o + 2] = 10 * i + j;
    png.data[o + 3] = 255;
  }
  writeFileSync(join(dir, 'a.png'), PNG.sync.write(png));
  return dir;
}

describe('folder source: fit', () => {
  const dir = folderWithGradient();

  it("'crop' takes the centre window unchanged", () => {
    const [img] = loadImages({ source: 'folder', path: dir, size: [8, 8], fit: 'crop' });
    // top = (12 − 8)/2 = 2, left = (10 − 8)/2 = 1.
    expect(img.height).toBe(8);
    expect(img.data[0] * 255).toBeCloseTo(10 * 2 + 1, 3);
    expect(img.data[7 * 8 + 7] * 255).toBeCloseTo(10 * 9 + 8, 3);
  });

  it("'resize' (the default) keeps the whole field of view", () => {
    const [img] = loadImages({ source: 'folder', path: dir, size: [8, 8] });
    expect(img.data[0] * 255).toBeLessThan(10 * 2 + 1);
    expect(img.data[63] * 255).toBeGreaterThan(10 * 9 + 8);
  });

  it('a crop larger than the image names data.train.fit', () => {
    expect(() => loadImages({ source: 'folder', path: dir, size: [16, 16], fit: 'crop' }, 'data.train')).toThrow(ConfigError);
    try {
      loadImages({ source: 'folder', path: dir, size: [16, 16], fit: 'crop' }, 'data.train');
    } catch (e) {
      expect((e as ConfigError).path).toBe('data.train.fit');
    }
  });
});
