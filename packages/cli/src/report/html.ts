import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import type { RunData, SplitSummary } from './data.js';
import { blockKind, size, type Figure } from './specs.js';

/** One section of the page: headings, HTML and the figures placed in it (in order). */
export interface Section {
  title: string;
  level?: 2 | 3;
  html?: string;
  figures?: Figure[];
  after?: string;
}

export const esc = (s: unknown): string =>
  String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** Text that can sit inside <script>: no `</script`, no `<!--`. */
const scriptSafe = (s: string): string => s.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');

/** The minified browser builds of vega, vega-lite and vega-embed from node_modules. */
export function vegaScripts(): { name: string; version: string; code: string }[] {
  const require = createRequire(import.meta.url);
  return [
    ['vega', 'vega.min.js'],
    ['vega-lite', 'vega-lite.min.js'],
    ['vega-embed', 'vega-embed.min.js'],
  ].map(([name, file]) => {
    // Their exports maps hide build/*.min.js: find the build folder through the package's main entry.
    const build = dirname(require.resolve(name));
    const pkg = JSON.parse(readFileSync(join(build, '..', 'package.json'), 'utf8')) as { version: string };
    return { name, version: pkg.version, code: readFileSync(join(build, file), 'utf8') };
  });
}

const num = (v: number | undefined, digits: number) => (v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits));
const arrow = (s: SplitSummary | undefined, key: 'psnr' | 'ssim') =>
  s ? `${num(s[key].input, key === 'psnr' ? 2 : 3)} → <b>${num(s[key].learned, key === 'psnr' ? 2 : 3)}</b>` : '–';
const sig = (v: number) => (Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(4) : v.toPrecision(6));

/** The results table: one row per run. */
export function resultsTable(runs: RunData[]): string {
  const head = ['run', 'config<br><span class="dim">regularizer</span>', 'stop', 'train PSNR (dB)<br><span class="dim">SSIM</span>', 'test PSNR (dB)<br><span class="dim">SSIM</span>',
    'upper loss', 'lower + CG iterations', 'outer<br>iterations', 'wall (s)', 'backend', 'θ'];
  const split = (x: SplitSummary | undefined) => (x ? `${arrow(x, 'psnr')}<br><span class="dim">${arrow(x, 'ssim')}</span>` : '–');
  const rows = runs.map((r) => {
    const s = r.summary;
    const theta = r.theta?.theta ?? s?.theta;
    const thetaCell = !theta ? '–' : theta.length <= 4 ? `[${theta.map((t) => t.toFixed(3)).join(', ')}]` : `${theta.length} parameters`;
    const lower = s?.lowerIterations, cg = s?.cgIterations;
    const probes = s?.probeWork ? `; ${Math.round(s.probeWork)} probes` : '';
    const cost = lower !== undefined && cg !== undefined ? `${lower + cg}<br><span class="dim">${lower} + ${cg}${probes}</span>` : '–';
    const stop = s?.stopReason
      ? `${esc(s.stopReason)}${s.stopMessage ? `<br><span class="dim msg">${esc(s.stopMessage)}</span>` : ''}`
      : r.error !== undefined ? '<span class="bad">failed</span>' : 'unfinished';
    return [
      `<span title="${esc(resolve(r.dir))}">${esc(r.label)}</span>`, `${esc(s?.name ?? '–')}<br><span class="dim">${esc(r.regularizer ?? '–')}</span>`, stop,
      split(s?.train), split(s?.test), s?.upperLoss !== undefined ? sig(s.upperLoss) : '–', cost, String(s?.outerIterations ?? r.rows.length),
      num(s?.wallSeconds, 1), esc(s?.backend ?? '–'), thetaCell,
    ];
  });
  return `<table class="results"><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead>
<tbody>${rows.map((c) => `<tr>${c.map((x) => `<td>${x}</td>`).join('')}</tr>`).join('\n')}</tbody></table>`;
}

/** The small blocks of θ as a table of θ and e^θ. */
export function thetaTable(run: RunData): string {
  const t = run.theta;
  if (!t) return '<p class="dim">No θ recorded (no theta.json or summary.json).</p>';
  const rows: string[] = [];
  for (const b of t.layout.blocks) {
    if (blockKind(b) !== 'table') continue;
    for (let i = 0; i < size(b); i++) {
      const v = t.theta[b.offset + i];
      const index = size(b) === 1 ? '' : `[${i}]`;
      rows.push(`<tr><td>${esc(b.name)}${index}</td><td>${b.offset + i}</td><td>${sig(v)}</td><td>${sig(Math.exp(v))}</td></tr>`);
    }
  }
  const shown = t.layout.blocks.filter((b) => blockKind(b) !== 'table').map((b) => `${esc(b.name)} [${b.shape.join('×')}]`);
  const note = shown.length ? `<p class="dim">Shown as figures below: ${shown.join(', ')}.</p>` : '';
  const table = rows.length
    ? `<table class="theta"><thead><tr><th>block</th><th>θ index</th><th>θ</th><th>e<sup>θ</sup></th></tr></thead><tbody>${rows.join('')}</tbody></table>`
    : '';
  return `<p>Regularizer <b>${esc(t.regularizer)}</b>, ${t.layout.size} parameter${t.layout.size === 1 ? '' : 's'}.</p>${table}${note}`;
}

/** Width and height from a PNG data: URI's IHDR chunk. */
function pngSize(dataUri: string): [number, number] | undefined {
  const b = Buffer.from(dataUri.slice(dataUri.indexOf(',') + 1, dataUri.indexOf(',') + 40), 'base64');
  return b.length >= 24 ? [b.readUInt32BE(16), b.readUInt32BE(20)] : undefined;
}

/** The ground truth | input | learned tiles, inlined. */
export function imagesHtml(run: RunData): string {
  if (run.images.length === 0) return '<p class="dim">No example images in this folder.</p>';
  return run.images
    .map((im) => {
      const wh = pngSize(im.dataUri);
      const scale = wh && wh[0] < 420 ? 2 : 1;
      const dims = wh ? ` width="${wh[0] * scale}" height="${wh[1] * scale}"` : '';
      return `<figure class="examples"><img alt="${im.split} examples" src="${im.dataUri}"${dims}><figcaption>${im.split}: ground truth | input | learned</figcaption></figure>`;
    })
    .join('\n');
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#222;background:#fff}
main{max-width:1240px;margin:0 auto;padding:16px 28px 40px}
h1{font-size:22px;margin:8px 0 2px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:3px}
h3{font-size:15px;margin:18px 0 6px}
.dim{color:#777}.bad{color:#b00}
table{border-collapse:collapse;margin:6px 0 10px;font-variant-numeric:tabular-nums}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top;white-space:nowrap}
.msg{display:inline-block;max-width:220px;white-space:normal;font-size:12px}
th{background:#f4f5f7;font-weight:600}
table.results{font-size:13px;display:block;overflow-x:auto;max-width:100%}
div.fig.vega-embed,div.fig{display:block;width:fit-content;max-width:100%;margin:8px 0 18px}
figure.examples{margin:8px 24px 14px 0;display:inline-block;vertical-align:top}
figure.examples img{image-rendering:pixelated;max-width:100%;height:auto;border:1px solid #ccc}
figcaption{color:#555;font-size:13px}
code{background:#f4f5f7;padding:0 3px;border-radius:3px}
`;

/** The whole page: sections, the figure specs as JSON, and the inlined vega scripts. */
export function pageHtml(o: { title: string; subtitle: string; sections: Section[]; figures: Figure[]; footer: string }): string {
  const scripts = vegaScripts();
  const specs = Object.fromEntries(o.figures.map((f) => [f.id, f.spec]));
  const body = o.sections
    .map((s) => {
      const h = s.level ?? 2;
      const figs = (s.figures ?? []).map((f) => `<div class="fig" id="fig-${esc(f.id)}" data-figure="${esc(f.id)}"></div>`).join('\n');
      return `<h${h}>${esc(s.title)}</h${h}>\n${s.html ?? ''}\n${figs}\n${s.after ?? ''}`;
    })
    .join('\n');
  const versions = scripts.map((s) => `${s.name} ${s.version}`).join(', ');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(o.title)}</title>
<style>${CSS}</style>
${scripts.map((s) => `<script>/* ${s.name} ${s.version} */\n${scriptSafe(s.code)}\n</script>`).join('\n')}
</head><body data-report="loading"><main>
<h1>${esc(o.title)}</h1><p class="dim">${o.subtitle}</p>
${body}
<h2>About this page</h2><p class="dim">${o.footer} Plots: Vega-Lite (${esc(versions)}), inlined, so the page works offline.</p>
</main>
<script type="application/json" id="bilevel-specs">${scriptSafe(JSON.stringify(specs)).replace(/</g, '\\u003c')}</script>
<script>
(function () {
  var specs = JSON.parse(document.getElementById('bilevel-specs').textContent);
  var opts = { renderer: 'svg', actions: { export: true, source: false, compiled: false, editor: false } };
  var ids = Object.keys(specs);
  Promise.all(ids.map(function (id) { return vegaEmbed('#fig-' + id, specs[id], opts); })).then(
    function () { document.body.setAttribute('data-report', 'ready'); },
    function (e) { document.body.setAttribute('data-report', 'error'); console.error('bilevel report: a figure failed: ' + e); });
})();
</script>
</body></html>
`;
}
