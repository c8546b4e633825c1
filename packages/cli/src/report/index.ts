import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { BilevelError } from '@bilevel/core';
import { writeAtomic } from '../output.js';
import { loadRuns, type RunData } from './data.js';
import { esc, imagesHtml, pageHtml, resultsTable, thetaTable, type Section } from './html.js';
import { DEFAULT_CHROMIUM, findChromium, renderSvgs, screenshotFigures, type BrowserCheck } from './render.js';
import { convergenceFigures, parameterFigures, type Figure } from './specs.js';

export { loadRun, loadRuns, type RunData, type ThetaFile } from './data.js';
export { findChromium, DEFAULT_CHROMIUM, screenshotFigures, type BrowserCheck } from './render.js';
export { blockKind, convergenceFigures, parameterFigures, type Figure } from './specs.js';

export interface ReportOptions {
  /** Screenshot the figures to PNG with Chromium when it is there (default true; BILEVEL_REPORT_PNG=0 turns it off). */
  png?: boolean;
  /** Chromium executable (default $BILEVEL_CHROMIUM or /usr/bin/chromium). */
  chromium?: string;
  /** Also write a full-page screenshot here (needs Chromium). */
  pageScreenshot?: string;
}

export interface ReportResult {
  html: string;
  bytes: number;
  figures: string[];
  svgs: string[];
  pngs: string[];
  /** What fell short (no Chromium, a figure that failed); the HTML page is written regardless. */
  warnings: string[];
  /** Present when the page was opened in Chromium. */
  browser?: BrowserCheck;
}

function sections(runs: RunData[]): { sections: Section[]; figures: Figure[] } {
  const out: Section[] = [];
  const multi = runs.length > 1;
  out.push({ title: multi ? 'Results' : 'Result', html: resultsTable(runs) });
  for (const r of runs) {
    if (r.error !== undefined) out.push({ title: `${r.label}: failed`, level: 3, html: `<pre class="bad">${esc(r.error)}</pre>` });
  }
  const curves = convergenceFigures(runs, multi ? 'compare-' : '');
  out.push({
    title: multi ? 'Convergence (runs overlaid)' : 'Convergence',
    html: curves.length ? '' : '<p class="dim">No iterations recorded.</p>',
    figures: curves,
  });
  runs.forEach((r, i) => {
    const prefix = multi ? `run${i + 1}-` : '';
    if (multi) out.push({ title: `Run ${r.label}`, html: `<p class="dim">${esc(resolve(r.dir))}</p>` });
    out.push({ title: 'Learned parameters', level: multi ? 3 : 2, html: thetaTable(r), figures: parameterFigures(r, prefix) });
    out.push({ title: 'Ground truth | measurement | reconstruction', level: multi ? 3 : 2, html: imagesHtml(r) });
  });
  // Figure ids name containers and files: make them unique.
  const figures: Figure[] = [];
  const used = new Set<string>();
  for (const s of out) {
    for (const f of s.figures ?? []) {
      let id = f.id, k = 2;
      while (used.has(id)) id = `${f.id}-${k++}`;
      used.add(id);
      f.id = id;
      figures.push(f);
    }
  }
  return { sections: out, figures };
}

const pngEnabled = (o: ReportOptions) => o.png ?? !['0', 'false', 'no'].includes((process.env.BILEVEL_REPORT_PNG ?? '').toLowerCase());

/**
 * Writes a self-contained HTML report of one or more run folders to `out` (scripts, data and images inlined),
 * plus `<stem>-<figure>.svg` (rendered in Node) and `<stem>-<figure>.png` (screenshots in headless Chromium,
 * when there is one) next to it.
 */
export async function writeReport(dirs: string[], out: string, o: ReportOptions = {}): Promise<ReportResult> {
  if (dirs.length === 0) throw new BilevelError('report needs at least one run folder', 'bilevel report <dir> [<dir> ...] [--out <file.html>]');
  const runs = loadRuns(dirs);
  const { sections: body, figures } = sections(runs);
  const folder = dirname(out), stem = basename(out).replace(/\.html?$/i, '');
  const file = (id: string, ext: string) => join(folder, `${stem}-${id}.${ext}`);
  mkdirSync(folder, { recursive: true });
  const warnings: string[] = [];
  const chromium = o.chromium ?? findChromium();
  const wantPng = pngEnabled(o) && figures.length > 0;
  if (o.pageScreenshot && !chromium) warnings.push(`no screenshot ${o.pageScreenshot}: no Chromium`);
  if (wantPng && !chromium) warnings.push(`no Chromium at ${process.env.BILEVEL_CHROMIUM || DEFAULT_CHROMIUM} (apt-get install -y chromium, or set BILEVEL_CHROMIUM): figures written as SVG only, no PNG`);
  const write = (pngNote: string) => {
    const title = runs.length === 1 ? `bilevel report: ${runs[0].summary?.name ?? runs[0].label}` : `bilevel report: ${runs.length} runs`;
    const subtitle = `${runs.map((r) => `<code>${esc(r.dir)}</code>`).join(', ')} · generated ${esc(new Date().toISOString().replace(/\.\d+Z$/, 'Z'))}`;
    const footer = figures.length
      ? `Each figure is also saved next to this file as <code>${esc(stem)}-&lt;figure&gt;.svg</code>${pngNote}.`
      : '';
    writeAtomic(out, pageHtml({ title, subtitle, sections: body, figures, footer }));
  };
  const pngNote = (ok: boolean, why?: string) => (ok ? ' and <code>.png</code>' : ` (no PNG: ${esc(why ?? '')})`);
  write(wantPng && chromium ? pngNote(true) : pngNote(false, wantPng ? `Chromium not found at ${process.env.BILEVEL_CHROMIUM || DEFAULT_CHROMIUM}` : 'PNG output turned off'));
  const result: ReportResult = { html: out, bytes: 0, figures: figures.map((f) => f.id), svgs: [], pngs: [], warnings };

  try {
    const svgs = await renderSvgs(figures);
    for (const [id, svg] of svgs) {
      writeFileSync(file(id, 'svg'), svg);
      result.svgs.push(file(id, 'svg'));
    }
  } catch (e) {
    warnings.push(`SVG rendering failed: ${(e as Error).message}`);
  }
  if (chromium && (wantPng || o.pageScreenshot)) {
    const pngs = new Map(wantPng ? figures.map((f) => [f.id, file(f.id, 'png')] as const) : []);
    try {
      result.browser = await screenshotFigures(out, pngs, { executablePath: chromium, page: o.pageScreenshot });
      result.pngs.push(...pngs.values());
      for (const e of result.browser.errors) warnings.push(`in Chromium: ${e}`);
      for (const [id, [w, h]] of Object.entries(result.browser.sizes)) if (!(w > 0 && h > 0)) warnings.push(`figure ${id} did not render`);
    } catch (e) {
      const why = (e as Error).message.split('\n')[0];
      warnings.push(`PNG rendering with ${chromium} failed: ${why}`);
      write(pngNote(false, `Chromium failed: ${why}`));
    }
  }
  result.bytes = statSync(out).size;
  return result;
}

/** `bilevel report <dir> [<dir> ...] [--out <file.html>]`: default out is <dir>/report.html for one folder, ./report.html for several. */
export async function reportCommand(dirs: string[], out?: string, o: ReportOptions & { quiet?: boolean } = {}): Promise<ReportResult> {
  const target = out ?? (dirs.length === 1 ? join(dirs[0], 'report.html') : 'report.html');
  const r = await writeReport(dirs, target, o);
  for (const w of r.warnings) process.stderr.write(`bilevel report: warning: ${w}\n`);
  if (!o.quiet) {
    const kinds = [r.svgs.length ? 'SVG' : '', r.pngs.length ? 'PNG' : ''].filter(Boolean).join(' + ');
    process.stdout.write(`wrote ${target} (${(r.bytes / 1024).toFixed(0)} KiB, ${r.figures.length} figures${kinds ? `, also as ${kinds}` : ''})\n`);
  }
  return r;
}

/**
 * The report at the end of `bilevel run`: never throws (a failed report only warns, the run has succeeded).
 * Returns the warnings.
 */
export async function runReport(dir: string, warn: (s: string) => void): Promise<ReportResult | undefined> {
  try {
    const r = await writeReport([dir], join(dir, 'report.html'));
    for (const w of r.warnings) warn(`report: ${w}`);
    return r;
  } catch (e) {
    warn(`report: could not write ${join(dir, 'report.html')}: ${(e as Error).message}`);
    return undefined;
  }
}
