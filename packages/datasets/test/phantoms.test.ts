import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ellipseLineIntegrals, ellipsePhantom, loadImages, loadPng, MODIFIED_SHEPP_LOGAN, randomEllipsePhantom, randomEllipses, sheppLogan } from '@bilevel/datasets';

const DATA = resolve(__dirname, '../../../../shared/data');

describe('modified Shepp–Logan', () => {
  it('takes the documented values and is left–right symmetric apart from the small ellipses', () => {
    const p = sheppLogan(64);
    const values = new Set(Array.from(p.data, (v) => Math.round(v * 10) / 10));
    expect([...values].sort()).toEqual([0, 0.1, 0.2, 0.3, 0.4, 1]);
    for (const v of p.data) expect(Math.abs(v * 10 - Math.round(v * 10))).toBeLessThan(1e-6);
    // rim at the top centre (y ≈ 0.9), interior 0.2, the top ellipse (y0 = .35) 0.3.
    const at = (x: number, y: number) => p.data[Math.floor(((1 - y) * 64) / 2) * 64 + Math.floor(((x + 1) * 64) / 2)];
    expect(at(0, 0.9)).toBeCloseTo(1, 6);
    expect(at(0.5, -0.3)).toBeCloseTo(0.2, 6);
    expect(at(0, 0.35)).toBeCloseTo(0.3, 6);
    expect(at(0.95, 0.95)).toBe(0);
  });

  it('matches the shared CT_SheppLogan PNGs to within their 8-bit rounding', (ctx) => {
    const folder = resolve(DATA, 'CT_SheppLogan');
    if (!existsSync(folder)) {
      console.log(`skipped: ${folder} not found (the shared data folder is absent)`);
      ctx.skip();
      return;
    }
    for (const n of [128, 256]) {
      const png = loadPng(resolve(folder, `shepp_logan_mod_${n}.png`));
      const ours = sheppLogan(n);
      let worst = 0;
      for (let i = 0; i < png.data.length; i++) worst = Math.max(worst, Math.abs(ours.data[i] - png.data[i]));
      expect(worst).toBeLessThanOrEqual(1 / 255 + 1e-6);
    }
  });

  it('supersampling averages the coverage of boundary pixels', () => {
    const disk = [{ intensity: 1, a: 0.5, b: 0.5, x0: 0, y0: 0, phi: 0 }];
    const p = ellipsePhantom(disk, 64, 64, { supersample: 8 });
    const area = p.data.reduce((a, b) => a + b, 0) * (2 / 64) ** 2;
    expect(area).toBeCloseTo(Math.PI * 0.25, 2);
    expect(p.data.some((v) => v > 0.05 && v < 0.95)).toBe(true);
  });
});

describe('random ellipse phantoms', () => {
  it('are seeded, in [0, 1], piecewise constant and differ between seeds', () => {
    const a = randomEllipsePhantom(48, 40, 7), b = randomEllipsePhantom(48, 40, 7), c = randomEllipsePhantom(48, 40, 8);
    expect(a.height).toBe(48);
    expect(a.width).toBe(40);
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
    expect(Array.from(a.data)).not.toEqual(Array.from(c.data));
    for (const v of a.data) expect(v >= 0 && v <= 1).toBe(true);
    expect(new Set(a.data).size).toBeLessThan(40);
    expect(randomEllipses(3).length).toBeGreaterThanOrEqual(5);
  });

  it('load as a config image source', async () => {
    // The config parser lives in @bilevel/experiment.
    const { parseConfig } = await import('@bilevel/experiment');
    const config = parseConfig({ data: { train: { source: 'phantoms', count: 3, size: [32, 32], seed: 5 }, test: { source: 'phantoms', kind: 'shepp-logan', count: 1, size: [32, 32] }, noise: { sigma: 0.01 } }, regularizer: { name: 'tv' } });
    const train = loadImages(config.data.train);
    expect(train.map((i) => i.name)).toEqual(['ellipses-5', 'ellipses-6', 'ellipses-7']);
    expect(Array.from(loadImages(config.data.test!)[0].data)).toEqual(Array.from(sheppLogan(32).data));
  });
});

describe('analytic line integrals of ellipses', () => {
  it('integrate to the ellipse mass along the detector for every angle', () => {
    const e = [{ intensity: 0.7, a: 0.4, b: 0.2, x0: 0.1, y0: -0.3, phi: 25 }];
    const offsets = Array.from({ length: 4001 }, (_, j) => -1.5 + (3 * j) / 4000);
    const sino = ellipseLineIntegrals(e, [0, 0.4, 1.3, 2.9], offsets);
    for (let k = 0; k < 4; k++) {
      let mass = 0;
      for (let j = 0; j < offsets.length; j++) mass += sino[k * offsets.length + j] * (3 / 4000);
      expect(mass).toBeCloseTo(0.7 * Math.PI * 0.4 * 0.2, 4);
    }
  });

  it('give the chord length of a centred disk and are additive over the phantom table', () => {
    const disk = [{ intensity: 1, a: 0.5, b: 0.5, x0: 0, y0: 0, phi: 0 }];
    const [p0, p1] = ellipseLineIntegrals(disk, [1.1], [0, 0.3]);
    expect(p0).toBeCloseTo(1, 12);
    expect(p1).toBeCloseTo(2 * Math.sqrt(0.25 - 0.09), 12);
    const all = ellipseLineIntegrals(MODIFIED_SHEPP_LOGAN, [0.7], [0.05]);
    const sum = MODIFIED_SHEPP_LOGAN.reduce((s, el) => s + ellipseLineIntegrals([el], [0.7], [0.05])[0], 0);
    expect(all[0]).toBeCloseTo(sum, 12);
  });
});
