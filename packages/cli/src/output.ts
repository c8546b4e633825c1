import { appendFileSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BilevelError, readTensors, tf, type ImageBatch, type IterationRecord } from '@bilevel/core';
import { encodePng } from '@bilevel/datasets';
import { writeAtomic, type ExperimentResult } from '@bilevel/experiment';

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

/** Tiles rows of images (each row: ground truth | input | learned) into one grayscale PNG. */
export async function comparisonPng(rows: ImageBatch[], count = 4): Promise<Buffer> {
  const n = Math.min(count, rows[0].shape[0]);
  const [, h, w] = rows[0].shape;
  const gap = 2, W = rows.length * w + (rows.length - 1) * gap, H = n * h + (n - 1) * gap;
  const data = new Float32Array(W * H).fill(1);
  // readTensors disposes what it reads: read clones, the batches stay the caller's.
  const values = await readTensors(...rows.map((b) => b.clone()));
  rows.forEach((_batch, c) => {
    const v = values[c];
    for (let i = 0; i < n; i++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      data[(i * (h + gap) + y) * W + c * (w + gap) + x] = v[(i * h + y) * w + x];
    }
  });
  return encodePng({ height: H, width: W, data });
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

/** Writes the example tiles (ground truth | input | learned) next to summary.json and disposes the images; report.html comes from ./report. */
export async function writeFigures(dir: string, r: ExperimentResult, clean: { train: ImageBatch; test?: ImageBatch }): Promise<void> {
  writeAtomic(join(dir, 'train-examples.png'), await comparisonPng([clean.train, r.images.train.input, r.images.train.learned]));
  if (r.images.test && clean.test) writeAtomic(join(dir, 'test-examples.png'), await comparisonPng([clean.test, r.images.test.input, r.images.test.learned]));
  tf.dispose([r.images.train.input, r.images.train.learned, ...(r.images.test ? [r.images.test.input, r.images.test.learned] : [])]);
}
