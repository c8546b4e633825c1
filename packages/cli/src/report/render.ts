import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { Figure } from './specs.js';

/** Where the report looks for Chromium: $BILEVEL_CHROMIUM, else Debian's `chromium` package. */
export const DEFAULT_CHROMIUM = '/usr/bin/chromium';

/** The Chromium executable to use, or undefined when there is none. */
export function findChromium(): string | undefined {
  const p = process.env.BILEVEL_CHROMIUM || DEFAULT_CHROMIUM;
  return existsSync(p) ? p : undefined;
}

/** Each figure as SVG, rendered headlessly in Node (vega's 'none' renderer: no canvas, no browser). */
export async function renderSvgs(figures: Figure[]): Promise<Map<string, string>> {
  const vega = await import('vega');
  const vl = await import('vega-lite');
  const out = new Map<string, string>();
  for (const f of figures) {
    const view = new vega.View(vega.parse(vl.compile(f.spec).spec), { renderer: 'none' });
    try {
      out.set(f.id, await view.toSVG());
    } finally {
      view.finalize();
    }
  }
  return out;
}

/** What the page did in the browser. */
export interface BrowserCheck {
  /** console.error messages, uncaught exceptions, and refused network requests. */
  errors: string[];
  /** Figure id → rendered width and height in CSS pixels (0 × 0 when nothing rendered). */
  sizes: Record<string, [number, number]>;
}

/**
 * Opens the page in headless Chromium (playwright-core, no download), waits for every figure, and writes
 * element screenshots of the figures to `pngs` (figure id → file; 2× device pixels). Requests other than
 * file:/data:/blob: are refused and counted as errors: the page must work offline.
 */
export async function screenshotFigures(
  html: string, pngs: Map<string, string>, o: { executablePath: string; page?: string; timeoutMs?: number },
): Promise<BrowserCheck> {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: o.executablePath, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  const errors: string[] = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 2 });
    page.on('console', (m) => m.type() === 'error' && errors.push(`console: ${m.text()}`));
    page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (/^(file|data|blob):/.test(url)) return route.continue();
      errors.push(`network request refused: ${url}`);
      return route.abort();
    });
    await page.goto(pathToFileURL(html).href, { waitUntil: 'load' });
    // (Browser code as strings: this package compiles without the DOM lib.)
    await page.waitForFunction(`document.body.getAttribute('data-report') !== 'loading'`, undefined, { timeout: o.timeoutMs ?? 30_000 });
    const state = await page.evaluate<string | null>(`document.body.getAttribute('data-report')`);
    if (state !== 'ready') errors.push(`page state: ${state}`);
    const sizes = await page.evaluate<Record<string, [number, number]>>(`(() => {
      const r = {};
      for (const el of document.querySelectorAll('[data-figure]')) {
        const g = el.querySelector('svg, canvas');
        const b = g ? g.getBoundingClientRect() : null;
        r[el.dataset.figure] = b ? [b.width, b.height] : [0, 0];
      }
      return r;
    })()`);
    for (const [id, file] of pngs) {
      await page.locator(`#fig-${id}`).screenshot({
        path: file, animations: 'disabled',
        style: '.vega-embed details, .vega-actions { display: none !important } .vega-embed.has-actions { padding-right: 0 !important }',
      });
    }
    if (o.page) {
      // The whole page at 1× for docs: a second page, so the figures above keep their 2× pixels.
      const full = await browser.newPage({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
      await full.goto(pathToFileURL(html).href, { waitUntil: 'load' });
      await full.waitForFunction(`document.body.getAttribute('data-report') !== 'loading'`, undefined, { timeout: o.timeoutMs ?? 30_000 });
      await full.screenshot({ path: o.page, fullPage: true, animations: 'disabled' });
    }
    return { errors, sizes };
  } finally {
    await browser.close();
  }
}
