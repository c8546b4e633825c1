import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { bilevel, ROOT, tempDir, writeJson } from './cli.js';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  console.warn(`report.test.ts: skipping the headless-browser checks: ${CHROMIUM} is absent (install it with: apt-get install -y chromium)`);
}
// The example's data set "kodak24-96" through BILEVEL_DATA_MIRROR = ../shared/data, into a cache of its own.
const DATA = resolve(ROOT, '../shared/data');
const KODAK = join(DATA, 'Kodak24-96');

/** A run folder as `bilevel run` leaves it, for a FoE/CRR-like layout: filter banks [5,5,1,6] and [4,3,3], spline curves. */
function fakeRun(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const layout = {
    size: 5 * 5 * 6 + 6 * 11 + 1 + 4 * 3 * 3 + 24,
    blocks: [
      { name: 'filters', offset: 0, shape: [5, 5, 1, 6] },
      { name: 'splineCoefficients', offset: 150, shape: [6, 11] },
      { name: 'logWeight', offset: 216, shape: [1] },
      { name: 'kernels', offset: 217, shape: [4, 3, 3] }, // FoE's [K, s, s]
      { name: 'logWeights', offset: 253, shape: [24] }, // too long for the table: a bar chart
    ],
  };
  const theta = Array.from({ length: layout.size }, (_, i) => Math.sin(i * 0.7) * (i < 150 ? 1 : 0.2) + (i >= 150 && i < 216 ? ((i - 150) % 11) / 10 : 0));
  const rows = Array.from({ length: 20 }, (_, k) => ({
    iter: k + 1, seconds: 0.5 * (k + 1), upperLoss: 10 * Math.exp(-k / 5) + 1, psnr: 20 + 8 * (1 - Math.exp(-k / 4)),
    epsilon: 0.1 * 0.8 ** k, delta: 0.1 * 0.8 ** k, omega: 0.05 * 0.85 ** k, gradNorm: 1 / (k + 1), step: 0.01 * 1.1 ** k,
    backtracks: 0, lowerIterations: 100 * (k + 1), cgIterations: 20 * (k + 1), ...(k % 5 === 4 ? { testPsnr: 19.5 + 8 * (1 - Math.exp(-k / 4)) } : {}),
  }));
  writeFileSync(join(dir, 'iterations.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  writeJson(dir, 'theta.json', { regularizer: 'foe-like', layout, theta });
  const split = { psnr: { input: 20.2, learned: 27.9 }, ssim: { input: 0.33, learned: 0.86 } };
  writeJson(dir, 'summary.json', {
    name: 'foe-like', train: split, test: split, theta, upperLoss: 1.2, lowerIterations: 2000, cgIterations: 400, probeWork: 120, wallSeconds: 10,
    stopReason: 'max-iterations', stopMessage: '20 iterations', outerIterations: 20, backend: 'wasm',
  });
}

/** Opens a report in headless Chromium; returns console errors, figure sizes and the number of specs. */
async function openInChromium(browser: Browser, html: string, screenshot: string) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  try {
    const errors: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    page.on('pageerror', (e) => errors.push(e.message));
    // Self-contained: anything but file:/data:/blob: is refused and counted as an error.
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (/^(file|data|blob):/.test(url)) return route.continue();
      errors.push(`network request: ${url}`);
      return route.abort();
    });
    await page.goto(pathToFileURL(html).href);
    await page.waitForFunction(`document.body.dataset.report !== 'loading'`, undefined, { timeout: 30_000 });
    const state = await page.evaluate<string>(`document.body.dataset.report`);
    const figures = await page.evaluate<{ id: string; w: number; h: number }[]>(`[...document.querySelectorAll('.vega-embed')].map((el) => {
      const g = el.querySelector('svg, canvas');
      const b = g ? g.getBoundingClientRect() : { width: 0, height: 0 };
      return { id: el.id, w: b.width, h: b.height };
    })`);
    const specs = await page.evaluate<number>(`Object.keys(JSON.parse(document.getElementById('bilevel-specs').textContent)).length`);
    const images = await page.evaluate<number[]>(`[...document.querySelectorAll('img')].map((i) => i.naturalWidth)`);
    await page.screenshot({ path: screenshot, fullPage: true });
    return { state, errors, figures, specs, images };
  } finally {
    await page.close();
  }
}

describe('bilevel report', () => {
  const base = tempDir();
  const tv = join(base, 'tv');
  const fake = join(base, 'foe-like');
  const compare = join(base, 'compare', 'report.html');

  beforeAll(() => {
    // A TV run: Kodak 96×96 when ../shared/data is there (with a short budget), else the synthetic default.
    if (existsSync(KODAK)) {
      const config = JSON.parse(readFileSync(join(ROOT, 'examples/tv-denoising-kodak96.json'), 'utf8'));
      config.budget = { maxIterations: 12 };
      const env = { BILEVEL_REPORT_PNG: '1', BILEVEL_DATA_MIRROR: DATA, BILEVEL_DATA_DIR: join(base, 'data-cache') };
      const r = bilevel(['run', writeJson(base, 'kodak.json', config), '--out', tv, '--quiet'], env);
      expect(r.code, r.stderr).toBe(0);
    } else {
      console.log(`report.test.ts: ${KODAK} is absent (no ../shared/data): the TV run uses the synthetic default instead`);
      const r = bilevel(['run', '--default', '--out', tv, '--quiet', '--test-every', '5'], { BILEVEL_REPORT_PNG: '1' });
      expect(r.code, r.stderr).toBe(0);
    }
    fakeRun(fake);
  });

  it('bilevel run writes theta.json and a self-contained Vega-Lite report.html with SVG (and PNG) figures', () => {
    const summary = JSON.parse(readFileSync(join(tv, 'summary.json'), 'utf8'));
    const theta = JSON.parse(readFileSync(join(tv, 'theta.json'), 'utf8'));
    expect(theta.regularizer).toBe('tv');
    expect(theta.layout.blocks.map((b: { name: string }) => b.name)).toEqual(['logWeight', 'logSmoothing']);
    expect(theta.theta).toEqual(summary.theta);
    const html = readFileSync(join(tv, 'report.html'), 'utf8');
    expect(html).toContain('vegaEmbed(');
    expect(html).not.toMatch(/<(script|img|link)[^>]+(src|href)="https?:/);
    expect(html).toMatch(/<img alt="train examples" src="data:image\/png;base64,/);
    expect(html).toContain('e<sup>θ</sup>');
    for (const id of ['loss', 'psnr', 'accuracy']) {
      expect(html).toContain(`id="fig-${id}"`);
      expect(readFileSync(join(tv, `report-${id}.svg`), 'utf8')).toMatch(/^<svg/);
      if (hasChromium) expect(readFileSync(join(tv, `report-${id}.png`)).subarray(1, 4).toString()).toBe('PNG');
    }
  });

  it('bilevel report overlays several runs, tabulates them, and draws filters as tiles and spline blocks as curves', () => {
    const r = bilevel(['report', tv, fake, '--out', compare], { BILEVEL_REPORT_PNG: '0' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/wrote .*report\.html \(\d+ KiB, 7 figures, also as SVG\)/);
    const html = readFileSync(compare, 'utf8');
    for (const id of ['compare-loss', 'compare-psnr', 'compare-accuracy', 'run2-theta-filters', 'run2-theta-splinecoefficients', 'run2-theta-kernels', 'run2-theta-logweights']) {
      expect(html).toContain(`id="fig-${id}"`);
      expect(existsSync(join(base, 'compare', `report-${id}.svg`))).toBe(true);
    }
    expect(html).toContain('<table class="results">');
    expect(html).toContain('max-iterations');
    expect(html).toContain('2000 + 400; 120 probes'); // lower + CG, and the probe work beside it
    expect(html).toContain('>tv<'); // regularizer column of the TV run
    const filters = readFileSync(join(base, 'compare', 'report-run2-theta-filters.svg'), 'utf8');
    expect(filters.match(/<path/g)!.length).toBeGreaterThan(6 * 25);
    // Not a run folder: a clear error and a non-zero exit.
    const bad = bilevel(['report', base]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/not a bilevel run folder/);
  });

  it('a report that cannot be written only warns (what `bilevel run` relies on)', async () => {
    const { runReport } = await import('../src/report/index.js');
    const warnings: string[] = [];
    expect(await runReport(tempDir(), (w) => warnings.push(w))).toBeUndefined();
    expect(warnings.join('\n')).toMatch(/not a bilevel run folder/);
  });

  it.skipIf(!hasChromium)('the reports open in headless Chromium with no console errors and every figure rendered (screenshot)', async () => {
    if (!existsSync(compare)) bilevel(['report', tv, fake, '--out', compare], { BILEVEL_REPORT_PNG: '0' });
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM });
    try {
      for (const [html, expected] of [[join(tv, 'report.html'), 3], [compare, 7]] as const) {
        const shot = html.replace(/\.html$/, '-page.png');
        const o = await openInChromium(browser, html, shot);
        expect(o.errors).toEqual([]);
        expect(o.state).toBe('ready');
        expect(o.specs).toBe(expected);
        expect(o.figures.length).toBe(expected);
        for (const f of o.figures) {
          expect(f.w, f.id).toBeGreaterThan(100);
          expect(f.h, f.id).toBeGreaterThan(50);
        }
        expect(o.images.length).toBeGreaterThan(0);
        for (const w of o.images) expect(w).toBeGreaterThan(0);
        expect(statSync(shot).size).toBeGreaterThan(20_000);
      }
    } finally {
      await browser.close();
    }
  });
});
