import { tf } from '@bilevel/core';
import { decodePng } from '@bilevel/datasets';
import { describe, expect, it } from 'vitest';
import { drawCentred, drawText, FONT_CHARACTERS, glyph, GLYPH_HEIGHT, GLYPH_WIDTH, textWidth, type Canvas } from '../src/figure-labels.js';
import { comparisonPng, EXAMPLE_COLUMNS, figureLayout, psnrCaption } from '../src/output.js';

const blank = (width: number, height: number): Canvas => ({ width, height, data: new Float32Array(width * height).fill(1) });
const ink = (c: Canvas, x0: number, y0: number, w: number, h: number) => {
  let n = 0;
  for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) if (c.data[y * c.width + x] < 0.5) n++;
  return n;
};

describe('the 5×7 bitmap font', () => {
  it('has every character the figures write, each a distinct 5-wide glyph of 9 rows', () => {
    for (const ch of new Set([...EXAMPLE_COLUMNS.join(''), ...'0123456789. dB|Infinity'])) expect(FONT_CHARACTERS).toContain(ch);
    const seen = new Map<string, string>();
    for (const ch of FONT_CHARACTERS) {
      const g = glyph(ch);
      expect(g).toHaveLength(GLYPH_HEIGHT);
      for (const row of g) expect(row).toHaveLength(GLYPH_WIDTH);
      const key = JSON.stringify(g);
      expect(seen.get(key), `"${ch}" draws like "${seen.get(key)}"`).toBeUndefined();
      seen.set(key, ch);
    }
    expect(JSON.stringify(glyph('€'))).toBe(JSON.stringify(glyph('?'))); // unknown characters show as '?'
  });

  it('draws each glyph pixel as a scale×scale block, advancing 6 font pixels a character, clipped to the canvas', () => {
    const c = blank(40, 30);
    drawText(c, 3, 2, 'dB', 2);
    for (const [k, ch] of ['d', 'B'].entries()) {
      glyph(ch).forEach((row, gy) => row.forEach((on, gx) => {
        for (const [dx, dy] of [[0, 0], [1, 1]]) expect(c.data[(2 + 2 * gy + dy) * 40 + 3 + 2 * (6 * k + gx) + dx]).toBe(on ? 0 : 1);
      }));
    }
    expect(textWidth('dB', 2)).toBe(22);
    expect(ink(c, 0, 0, 40, 30)).toBe(ink(c, 3, 2, 22, 2 * GLYPH_HEIGHT)); // nothing outside the text's box
    drawText(c, 35, 25, 'WWW'); // runs off the right and bottom edges without throwing
    expect(ink(c, 35, 25, 5, 5)).toBeGreaterThan(0);
  });
});

/** Images in [0, 1] (PNG-exact up to 8-bit rounding): a gradient, and it plus a known offset pattern. */
function batches(n: number, h: number, w: number) {
  const clean = Float32Array.from({ length: n * h * w }, (_, i) => 0.2 + 0.6 * ((i % w) / w));
  const off = (a: number) => Float32Array.from(clean, (v, i) => Math.min(1, Math.max(0, v + a * (i % 3 === 0 ? 1 : -1))));
  return [clean, off(0.1), off(0.02)];
}

/** PSNR as the project defines it (data range 1, reconstruction clipped to [0, 1]), computed here independently. */
const psnr = (x: Float32Array, ref: Float32Array, i: number, size: number) => {
  let s = 0;
  for (let k = i * size; k < (i + 1) * size; k++) s += (Math.min(1, Math.max(0, x[k])) - ref[k]) ** 2;
  return 10 * Math.log10(size / s);
};

describe('comparisonPng: labelled example figures', () => {
  it('titles the columns, places the images, and writes each image\'s PSNR against the ground truth under it', async () => {
    const [n, h, w] = [2, 20, 24];
    const values = batches(n, h, w);
    const tensors = values.map((v) => tf.tensor4d(v, [n, h, w, 1]));
    const png = decodePng(await comparisonPng(tensors, n));
    tf.dispose(tensors);
    const L = figureLayout(3, n, h, w, EXAMPLE_COLUMNS);
    expect([png.width, png.height]).toEqual([L.width, L.height]);
    expect(L.colW).toBeGreaterThan(w); // "ground truth" is wider than these images
    for (let c = 0; c < 3; c++) {
      const x0 = c * (L.colW + L.gap), left = x0 + Math.floor((L.colW - w) / 2);
      const title = blank(L.width, L.height);
      drawCentred(title, x0, L.colW, L.pad, EXAMPLE_COLUMNS[c], L.scale);
      for (let y = 0; y < L.band; y++) for (let x = x0; x < x0 + L.colW; x++) expect(png.data[y * L.width + x]).toBe(title.data[y * L.width + x]);
      for (let i = 0; i < n; i++) {
        const top = L.band + i * (h + L.band);
        for (const [y, x] of [[0, 0], [h - 1, w - 1], [7, 11]]) expect(png.data[(top + y) * L.width + left + x]).toBeCloseTo(values[c][(i * h + y) * w + x], 2);
        const band = (text: string) => {
          const want = blank(L.width, L.height);
          drawCentred(want, x0, L.colW, top + h + L.pad, text, L.scale);
          let same = true;
          for (let y = top + h; y < top + h + L.band; y++) for (let x = x0; x < x0 + L.colW; x++) same &&= png.data[y * L.width + x] === want.data[y * L.width + x];
          return same;
        };
        if (c === 0) expect(band('')).toBe(true); // no caption under the ground truth
        else {
          const db = psnr(values[c], values[0], i, h * w);
          expect(band(psnrCaption(db)), `caption ${psnrCaption(db)}`).toBe(true);
          expect(band(psnrCaption(db + 0.5))).toBe(false);
        }
      }
    }
  });

  it('scales the text with the image size', () => {
    expect(figureLayout(3, 1, 64, 64, EXAMPLE_COLUMNS).scale).toBe(1);
    expect(figureLayout(3, 1, 256, 256, EXAMPLE_COLUMNS).scale).toBe(2);
    expect(figureLayout(3, 1, 256, 256, EXAMPLE_COLUMNS).colW).toBe(256);
  });
});
