import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeRaster8, luma8, pilCoefficients, pilResizeBilinear, type Raster8 } from '@bilevel/datasets';

// Reference: Pillow's own output (fixtures/pillow-resize.json, written by fixtures/make-pillow-fixture.py).
const FIXTURE = JSON.parse(readFileSync(resolve(__dirname, 'fixtures/pillow-resize.json'), 'utf8')) as {
  pillow: string;
  cases: { input: [number, number]; output: [number, number]; rgb: string; luma: string; inputLuma: string | null }[];
};
const DATA = resolve(__dirname, '../../../../shared/data');

/** The fixture's RGB test image (same formula as make-pillow-fixture.py). */
function testImage(w: number, h: number): Raster8 {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) {
    data[(y * w + x) * 3 + c] = (x * x * 3 + y * 7 + c * 85 + ((x * y) % 23) * 5) % 256;
  }
  return { width: w, height: h, channels: 3, data };
}

const bytes = (b64: string) => Array.from(Buffer.from(b64, 'base64'));

describe("Pillow's bilinear resize and convert('L'), reproduced", () => {
  it.each(FIXTURE.cases.map((c) => [`${c.input.join('×')} → ${c.output.join('×')}`, c] as const))('%s: byte-identical to Pillow (RGB, then luma)', (_, c) => {
    const src = testImage(c.input[0], c.input[1]);
    const out = pilResizeBilinear(src, c.output[0], c.output[1]);
    expect([out.width, out.height, out.channels]).toEqual([c.output[0], c.output[1], 3]);
    expect(Array.from(out.data)).toEqual(bytes(c.rgb));
    expect(Array.from(luma8(out).data)).toEqual(bytes(c.luma));
    if (c.inputLuma) expect(Array.from(luma8(src).data)).toEqual(bytes(c.inputLuma));
  });

  it("luma8 gives Pillow's L of the primaries (76, 150, 29) and keeps black and white", () => {
    const px = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255], [0, 0, 0], [128, 128, 128]];
    const img = { width: px.length, height: 1, channels: 3, data: Uint8Array.from(px.flat()) };
    expect(Array.from(luma8(img).data)).toEqual([76, 150, 29, 255, 0, 128]);
  });

  it('downscaling weights follow a triangle of half-width equal to the scale, summing to 2²²', () => {
    const c = pilCoefficients(768, 96);
    expect(c.ksize).toBe(17);
    for (let j = 0; j < 96; j++) {
      const n = c.bounds[2 * j + 1];
      let sum = 0;
      for (let t = 0; t < n; t++) sum += c.weights[j * c.ksize + t];
      expect(Math.abs(sum - 2 ** 22)).toBeLessThanOrEqual(n);
    }
    // Output 10 is centred at input 84 (= (10 + ½)·8): inputs 76 … 91, peak weight at 83 and 84.
    expect([c.bounds[20], c.bounds[21]]).toEqual([76, 16]);
  });

  it('shrinking the gray Kodak24 lands within 1–2 gray levels of the shared Kodak24-96 / -256 (made from colour)', (ctx) => {
    if (!existsSync(resolve(DATA, 'Kodak24-96')) || !existsSync(resolve(DATA, 'Kodak24'))) {
      console.log(`skipped: ${DATA}/Kodak24 and Kodak24-96 not found (the shared data folder is absent)`);
      ctx.skip();
      return;
    }
    // Luma before or after the resize differ only by where the 8-bit rounding falls; a wrong filter or sampling
    // geometry would differ by tens of levels at edges.
    for (const [n, tolerance] of [[96, 1], [256, 2]] as const) {
      let worst = 0;
      for (const k of [1, 4, 13, 24]) {
        const f = `kodim${String(k).padStart(2, '0')}.png`;
        const ours = pilResizeBilinear(decodeRaster8(readFileSync(resolve(DATA, 'Kodak24', f))), n, n);
        const ref = decodeRaster8(readFileSync(resolve(DATA, `Kodak24-${n}`, f)));
        for (let i = 0; i < ref.data.length; i++) worst = Math.max(worst, Math.abs(ours.data[i] - ref.data[i]));
      }
      expect(worst).toBeLessThanOrEqual(tolerance);
    }
  });
});
