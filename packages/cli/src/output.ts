import { appendFileSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BilevelError, psnrPerImage, readTensors, tf, type ImageBatch, type IterationRecord } from '@bilevel/core';
import { encodePng } from '@bilevel/datasets';
import { writeAtomic, type ExperimentResult } from '@bilevel/experiment';
import { drawCentred, GLYPH_HEIGHT, textWidth } from './figure-labels.js';

export { writeAtomic };

/** Creates the output folder; an existing non-empty one is refused unless `force` (then emptied). */
export function prepareOutDir(dir: string, force: boolean): void {
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    if (!force) throw new BilevelError(`output folder "${dir}" already exists and is not empty`, 'choose another --out, or pass --force to overwrite it');
    rmSync(dir, { recursive: true, force: true });
  }
  mkdirSync(dir, { recursive: true });
}

/** Appends one JSON row per outer iteration to iterations.jsonl. */
export class IterationLog {
  readonly file: string;
  readonly rows: IterationRecord[] = [];
  /** Starts a new log, or continues one whose first `kept` lines are already on disk. */
  constructor(dir: string, kept: string[] = []) {
    this.file = join(dir, 'iterations.jsonl');
    this.rows.push(...kept.map((l) => JSON.parse(l) as IterationRecord));
    if (kept.length === 0) writeFileSync(this.file, '');
  }
  append(r: IterationRecord): void {
    this.rows.push({ ...r });
    appendFileSync(this.file, JSON.stringify(r) + '\n');
  }
}

/** Column titles of the example figures. */
export const EXAMPLE_COLUMNS: readonly string[] = ['ground truth', 'input', 'learned'];

/** The caption under an image of column c > 0: its PSNR against column 0's image ("31.05 dB"). */
export const psnrCaption = (db: number) => `${db.toFixed(2)} dB`;

/** Geometry of a labelled figure: font scale, band height (title or caption), column width, gap, size. */
export function figureLayout(columns: number, rows: number, h: number, w: number, titles: readonly string[]) {
  const scale = Math.min(4, Math.max(1, Math.floor(w / 96)));
  const pad = 2 * scale, band = GLYPH_HEIGHT * scale + 2 * pad, gap = 4;
  const colW = Math.max(w, ...titles.map((t) => textWidth(t, scale) + 2 * pad), textWidth(psnrCaption(99.99), scale) + 2 * pad);
  return { scale, pad, band, gap, colW, width: columns * colW + (columns - 1) * gap, height: band + rows * (h + band) };
}

/**
 * Tiles batches into one labelled grayscale PNG: a column per batch under its title (default: ground truth | input |
 * learned), a row per image (up to `count`), and under each image of columns after the first its PSNR against the
 * first column's image (per image, data range 1, clipped to [0, 1]: the convention of summary.json).
 */
export async function comparisonPng(batches: ImageBatch[], count = 4, titles: readonly string[] = EXAMPLE_COLUMNS): Promise<Buffer> {
  const n = Math.min(count, batches[0].shape[0]);
  const [, h, w] = batches[0].shape;
  const L = figureLayout(batches.length, n, h, w, titles);
  const canvas = { width: L.width, height: L.height, data: new Float32Array(L.width * L.height).fill(1) };
  const psnr = await Promise.all(batches.map((b, c) => (c === 0 ? [] : psnrPerImage(b, batches[0]))));
  // readTensors disposes what it reads: read clones, the batches stay the caller's.
  const values = await readTensors(...batches.map((b) => b.clone()));
  batches.forEach((_batch, c) => {
    const x0 = c * (L.colW + L.gap), left = x0 + Math.floor((L.colW - w) / 2);
    drawCentred(canvas, x0, L.colW, L.pad, titles[c] ?? '', L.scale);
    for (let i = 0; i < n; i++) {
      const top = L.band + i * (h + L.band);
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) canvas.data[(top + y) * L.width + left + x] = values[c][(i * h + y) * w + x];
      if (c > 0) drawCentred(canvas, x0, L.colW, top + h + L.pad, psnrCaption(psnr[c][i]), L.scale);
    }
  });
  return encodePng({ height: L.height, width: L.width, data: canvas.data });
}

/** A small SVG line plot of one series against another. */
export function svgPlot(title: string, xs: number[], ys: number[], xLabel: string, yLabel: string): string {
  const W = 480, H = 300, m = 48;
  const finite = ys.filter(Number.isFinite);
  if (xs.length === 0 || finite.length === 0) return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}"><text x="10" y="20">${title}: no data</text></svg>`;
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)], [y0, y1] = [Math.min(...finite), Math.max(...finite)];
  const sx = (x: number) => m + ((x - x0) / (x1 - x0 || 1)) * (W - 2 * m);
  const sy = (y: number) => H - m - ((y - y0) / (y1 - y0 || 1)) * (H - 2 * m);
  const pts = xs.map((x, i) => `${sx(x).toFixed(1)},${sy(ys[i]).toFixed(1)}`).join(' ');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">
<rect width="${W}" height="${H}" fill="white"/><text x="${W / 2}" y="16" text-anchor="middle" font-size="13">${title}</text>
<line x1="${m}" y1="${H - m}" x2="${W - m}" y2="${H - m}" stroke="black"/><line x1="${m}" y1="${m}" x2="${m}" y2="${H - m}" stroke="black"/>
<text x="${W / 2}" y="${H - 12}" text-anchor="middle">${xLabel}</text><text x="12" y="${H / 2}" transform="rotate(-90 12 ${H / 2})" text-anchor="middle">${yLabel}</text>
<text x="${m}" y="${H - m + 14}">${x0.toPrecision(3)}</text><text x="${W - m}" y="${H - m + 14}" text-anchor="end">${x1.toPrecision(3)}</text>
<text x="${m - 4}" y="${H - m}" text-anchor="end">${y0.toPrecision(4)}</text><text x="${m - 4}" y="${m + 4}" text-anchor="end">${y1.toPrecision(4)}</text>
<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="${pts}"/></svg>`;
}

/** summary.json content (DESIGN §5). */
export function summaryOf(name: string, r: Omit<ExperimentResult, 'images'>, extra: Record<string, unknown>) {
  return {
    name,
    train: r.train,
    ...(r.test ? { test: r.test } : {}),
    theta: r.theta,
    upperLoss: r.upperLoss,
    lowerIterations: r.lowerIterations,
    cgIterations: r.cgIterations,
    probeWork: r.probeWork,
    ...(r.hostReads !== undefined ? { hostReads: r.hostReads } : {}),
    wallSeconds: r.wallSeconds,
    stopReason: r.stopReason,
    stopMessage: r.message,
    outerIterations: r.iterations,
    ...extra,
  };
}

/** Writes the labelled example figures (ground truth | input | learned, with PSNR) next to summary.json and disposes the images; report.html comes from ./report. */
export async function writeFigures(dir: string, r: ExperimentResult, clean: { train: ImageBatch; test?: ImageBatch }): Promise<void> {
  writeAtomic(join(dir, 'train-examples.png'), await comparisonPng([clean.train, r.images.train.input, r.images.train.learned]));
  if (r.images.test && clean.test) writeAtomic(join(dir, 'test-examples.png'), await comparisonPng([clean.test, r.images.test.input, r.images.test.learned]));
  tf.dispose([r.images.train.input, r.images.train.learned, ...(r.images.test ? [r.images.test.input, r.images.test.learned] : [])]);
}
