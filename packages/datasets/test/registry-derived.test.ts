import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PNG } from 'pngjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DataUnavailableError, dataSettings, decodeRaster8, ensureDataset, type DataSettings, type Manifest } from '@bilevel/datasets';
import { startServer, type FixtureServer } from './registry-server.js';

// Derived data sets (gray of a colour original; resized, then gray) fetched from a loopback server, checked against
// Pillow's output for the same colour image (fixtures/pillow-resize.json).

const PILLOW = JSON.parse(readFileSync(resolve(__dirname, 'fixtures/pillow-resize.json'), 'utf8')) as {
  cases: { input: [number, number]; output: [number, number]; luma: string }[];
};
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** The fixture's 200×130 RGB test image as an RGB PNG (the formula of make-pillow-fixture.py). */
function colourPng(w: number, h: number): { png: Buffer; luma: Uint8Array } {
  const png = new PNG({ width: w, height: h, colorType: 2 });
  const luma = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const rgb = [0, 1, 2].map((c) => (x * x * 3 + y * 7 + c * 85 + ((x * y) % 23) * 5) % 256);
    png.data.set([...rgb, 255], (y * w + x) * 4);
    // ITU-R 601 luma in Pillow's fixed point, written out here independently of luma8.
    luma[y * w + x] = Math.floor((19595 * rgb[0] + 38470 * rgb[1] + 7471 * rgb[2] + 32768) / 65536);
  }
  return { png: PNG.sync.write(png, { colorType: 2 }), luma };
}

let server: FixtureServer;
let cache: string;
beforeEach(async () => {
  server = await startServer();
  cache = mkdtempSync(join(tmpdir(), 'bilevel-cache-'));
});
afterEach(() => server.close());

/** A manifest with a "luma" set and a 25×16 "resize-luma" set made from one colour original on the server. */
function derivedManifest(resizedPixels: string): Manifest {
  const { png, luma } = colourPng(200, 130);
  server.routes.set('/orig/img.png', { body: png });
  const original = `${server.url}/orig/img.png`;
  const file = { name: 'img.png', size: 0, sha256: '0'.repeat(64), original };
  return {
    version: 1,
    datasets: [
      { name: 'gray', folder: 'Gray', title: 't', origin: 'luma', terms: 't', files: [{ ...file, width: 200, height: 130, pixels: sha(luma) }] },
      { name: 'small', folder: 'Small', title: 't', origin: 'resize-luma', resize: [25, 16], terms: 't', files: [{ ...file, width: 25, height: 16, pixels: resizedPixels }] },
    ],
  };
}

const settings = (manifest: Manifest): DataSettings => dataSettings({ cacheDir: cache, mirror: undefined, manifest, fetch: { timeoutMs: 5000, tries: 2, backoffMs: 5 } });

describe('derived data sets from colour originals', () => {
  const pillow = PILLOW.cases.find((c) => c.input.join() === '200,130' && c.output.join() === '25,16')!;

  it("gray of the original, and resize-then-gray, land with the pixels of Pillow's resize((25, 16), BILINEAR).convert('L')", async () => {
    const s = settings(derivedManifest(sha(Buffer.from(pillow.luma, 'base64'))));
    const gray = await ensureDataset('gray', {}, s);
    expect(gray.obtained.upstream).toBe(1);
    const small = await ensureDataset('small', {}, s);
    const img = decodeRaster8(readFileSync(small.files[0]));
    expect([img.width, img.height, img.channels]).toEqual([25, 16, 1]);
    expect(Buffer.from(img.data).equals(Buffer.from(pillow.luma, 'base64'))).toBe(true);
    // The cached files verify (by their pixels: the PNG bytes are this encoder's, not the reference's).
    expect((await ensureDataset('small', { verify: true }, s)).obtained.upstream).toBe(0);
  });

  it('a preparation that differs from the reference pixels is refused with the mirror as the fix, and not cached', async () => {
    const s = settings(derivedManifest('f'.repeat(64)));
    const e = await ensureDataset('small', {}, s).catch((err: unknown) => err as DataUnavailableError);
    expect(e).toBeInstanceOf(DataUnavailableError);
    expect(e.message).toContain('img.png (its 8-bit gray pixels)');
    expect(e.message).toContain(`expected ${'f'.repeat(64)}`);
    expect(e.fix).toContain("reproduction of Pillow's bilinear resize");
    expect(e.fix).toContain('Small/');
    expect(() => readFileSync(join(cache, 'Small', 'img.png'))).toThrow();
  });

  it('a colour original whose gray differs from the luma set it made is refused as a bad download', async () => {
    const m = derivedManifest(sha(Buffer.from(pillow.luma, 'base64')));
    m.datasets[0].files[0].pixels = '0'.repeat(64);
    const e = await ensureDataset('small', {}, settings(m)).catch((err: unknown) => err as DataUnavailableError);
    expect(e).toBeInstanceOf(DataUnavailableError);
    expect(e.message).toContain('colour original img.png');
  });
});
