// Shared helpers of tools/compare: config merging, cost bookkeeping, tables and multi-series SVG plots.
import { mkdirSync, readdirSync, rmSync, existsSync, writeFileSync } from 'node:fs';

export const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf', '#000000'];

/** Deep merge of plain objects (arrays and scalars of `b` replace those of `a`). */
export function merge(a, b) {
  if (b === undefined) return a;
  if (typeof a !== 'object' || a === null || Array.isArray(a) || typeof b !== 'object' || b === null || Array.isArray(b)) return structuredClone(b);
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = merge(a[k], v);
  return out;
}

/** Parses `--key value` / `--flag` arguments after the positional ones. */
export function parseArgs(argv) {
  const positional = [], flags = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--')) {
      const key = a.slice(2);
      if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) flags[key] = argv[++i];
      else flags[key] = true;
    } else positional.push(a);
  }
  return { positional, flags };
}

export function prepareOut(dir, force) {
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    if (!force) throw new Error(`output folder "${dir}" is not empty: pass --force to overwrite it`);
    rmSync(dir, { recursive: true, force: true });
  }
  mkdirSync(dir, { recursive: true });
}

/** Total lower-level + CG iterations of an iteration row (plus its probe work, when compare.mjs --count-probes set probeCost). */
export const cost = (row) => row.lowerIterations + row.cgIterations + (row.probeCost ?? 0);

/** Indices of at most `count` rows, evenly spread in cost, always with the first and last, plus the forced ones. */
export function subsample(rows, count, forced = []) {
  if (rows.length === 0) return [];
  const picked = new Set([0, rows.length - 1, ...forced.filter((i) => i >= 0)]);
  const c0 = cost(rows[0]), c1 = cost(rows.at(-1));
  for (let j = 1; j < count - 1; j++) {
    const target = c0 + ((c1 - c0) * j) / (count - 1);
    let best = 0;
    rows.forEach((r, i) => {
      if (Math.abs(cost(r) - target) < Math.abs(cost(rows[best]) - target)) best = i;
    });
    picked.add(best);
  }
  return [...picked].sort((a, b) => a - b);
}

/** The index of the last row with cost ≤ c (−1 if none). */
export function lastRowWithin(rows, c) {
  let k = -1;
  rows.forEach((r, i) => {
    if (cost(r) <= c) k = i;
  });
  return k;
}

const fmt = (v, digits = 4) => (v === undefined || v === null || Number.isNaN(v) ? '—' : typeof v === 'number' ? (Math.abs(v) >= 1e5 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(2) : Number(v.toPrecision(digits)).toString()) : String(v));

/** A Markdown table from column specs [{ key, title, digits? }] and rows of objects. */
export function markdownTable(columns, rows) {
  const head = `| ${columns.map((c) => c.title).join(' | ')} |`;
  const sep = `|${columns.map((c) => (c.align === 'left' ? ':---' : '---:')).join('|')}|`;
  const body = rows.map((r) => `| ${columns.map((c) => fmt(r[c.key], c.digits)).join(' | ')} |`);
  return [head, sep, ...body].join('\n') + '\n';
}

export function csvTable(columns, rows) {
  const esc = (v) => (typeof v === 'string' && /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v ?? '');
  return [columns.map((c) => c.key).join(','), ...rows.map((r) => columns.map((c) => esc(r[c.key])).join(','))].join('\n') + '\n';
}

const escapeXml = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function niceTicks(lo, hi, count = 5) {
  if (!(hi > lo)) return [lo];
  const step0 = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= step0) ?? step0;
  const ticks = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + 1e-9 * step; t += step) ticks.push(+t.toPrecision(12));
  return ticks;
}

/**
 * A multi-series line plot as SVG. series: [{ label, xs, ys, dashed? }]; options: { title, xLabel, yLabel, logX, logY,
 * xMin, xMax, yMin, yMax }. On a log axis non-positive values are clamped to the axis minimum.
 */
export function svgLines(series, o) {
  const W = 780, H = 470, ml = 70, mr = 220, mt = 36, mb = 50;
  const finite = series.flatMap((s) => s.xs.map((x, i) => [x, s.ys[i]])).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  if (finite.length === 0) return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}"><text x="10" y="20">${escapeXml(o.title)}: no data</text></svg>`;
  const positive = (v) => v.filter((t) => t > 0);
  const xMinRaw = o.xMin ?? (o.logX ? Math.min(...positive(finite.map((p) => p[0]))) : 0);
  const xMaxRaw = o.xMax ?? Math.max(...finite.map((p) => p[0]));
  const yMinRaw = o.yMin ?? (o.logY ? Math.min(...positive(finite.map((p) => p[1]))) : Math.min(...finite.map((p) => p[1])));
  const yMaxRaw = o.yMax ?? Math.max(...finite.map((p) => p[1]));
  const fx = (x) => (o.logX ? Math.log10(Math.max(x, xMinRaw)) : x);
  const fy = (y) => (o.logY ? Math.log10(Math.max(y, yMinRaw)) : y);
  const x0 = fx(xMinRaw), x1 = Math.max(fx(xMaxRaw), x0 + 1e-9);
  const y0 = fy(yMinRaw), y1 = Math.max(fy(yMaxRaw), y0 + 1e-9);
  const sx = (x) => ml + ((Math.min(Math.max(fx(x), x0), x1) - x0) / (x1 - x0)) * (W - ml - mr);
  const sy = (y) => H - mb - ((Math.min(Math.max(fy(y), y0), y1) - y0) / (y1 - y0)) * (H - mt - mb);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${(ml + W - mr) / 2}" y="20" text-anchor="middle" font-size="14">${escapeXml(o.title)}</text>`,
    `<line x1="${ml}" y1="${H - mb}" x2="${W - mr}" y2="${H - mb}" stroke="black"/><line x1="${ml}" y1="${mt}" x2="${ml}" y2="${H - mb}" stroke="black"/>`,
    `<text x="${(ml + W - mr) / 2}" y="${H - 12}" text-anchor="middle">${escapeXml(o.xLabel)}</text>`,
    `<text x="16" y="${(mt + H - mb) / 2}" transform="rotate(-90 16 ${(mt + H - mb) / 2})" text-anchor="middle">${escapeXml(o.yLabel)}</text>`,
  ];
  const ticks = (lo, hi, log) => (log ? niceTicks(Math.ceil(lo - 1e-9), Math.floor(hi + 1e-9)).filter(Number.isInteger).map((t) => 10 ** t) : niceTicks(lo, hi));
  const label = (t) => (Math.abs(t) >= 1e5 || (Math.abs(t) < 1e-2 && t !== 0) ? t.toExponential(0) : String(+t.toPrecision(4)));
  for (const t of ticks(x0, x1, o.logX)) {
    const x = sx(t).toFixed(1);
    parts.push(`<line x1="${x}" y1="${mt}" x2="${x}" y2="${H - mb}" stroke="#eee"/><line x1="${x}" y1="${H - mb}" x2="${x}" y2="${H - mb + 4}" stroke="black"/><text x="${x}" y="${H - mb + 16}" text-anchor="middle">${label(t)}</text>`);
  }
  for (const t of ticks(y0, y1, o.logY)) {
    const y = sy(t).toFixed(1);
    parts.push(`<line x1="${ml}" y1="${y}" x2="${W - mr}" y2="${y}" stroke="#eee"/><line x1="${ml - 4}" y1="${y}" x2="${ml}" y2="${y}" stroke="black"/><text x="${ml - 6}" y="${+y + 4}" text-anchor="end">${label(t)}</text>`);
  }
  series.forEach((s, i) => {
    const color = s.color ?? COLORS[i % COLORS.length];
    const p = s.xs.map((x, j) => [x, s.ys[j]]).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && fx(x) <= x1 + 1e-9);
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    if (p.length > 0) {
      parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2"${dash} points="${p.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ')}"/>`);
      for (const [x, y] of p) parts.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="2.5" fill="${color}"/>`);
    }
    const ly = mt + 10 + i * 18;
    parts.push(`<line x1="${W - mr + 12}" y1="${ly}" x2="${W - mr + 36}" y2="${ly}" stroke="${color}" stroke-width="2"${dash}/><text x="${W - mr + 42}" y="${ly + 4}">${escapeXml(s.label)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

export function writeJson(file, data) {
  writeFileSync(file, JSON.stringify(data, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n');
}

/** Parses `--seeds 0,1,2` (or `--seed 3`: flag 'seed') into distinct non-negative integers; throws a message naming the flag. */
export function parseSeeds(text, flag = 'seeds') {
  const example = `--${flag} ${flag === 'seed' ? '3' : '0,1,2'}`;
  if (text === true) throw new Error(`--${flag} needs a value, e.g. ${example}`);
  const seeds = String(text).split(',').map((s) => s.trim());
  if (seeds.some((s) => !/^\d+$/.test(s))) throw new Error(`--${flag} "${text}": give ${flag === 'seed' ? 'a non-negative integer' : 'comma-separated non-negative integers'}, e.g. ${example}`);
  return [...new Set(seeds.map(Number))];
}

/**
 * One row per (checkpoint, method) from per-seed comparison tables ({ seed, table }, table rows carrying `method` and
 * `loss@c`): the loss in each seed, the mean, and in how many seeds the method was below the reference method.
 */
export function seedSummary(perSeed, checkpoints, reference) {
  const methods = perSeed[0].table.map((r) => r.method);
  const rows = [];
  for (const c of checkpoints) {
    for (const method of methods) {
      const row = { checkpoint: c, method };
      let sum = 0, below = 0, count = 0;
      for (const { seed, table } of perSeed) {
        const loss = table.find((r) => r.method === method)?.[`loss@${c}`];
        const ref = table.find((r) => r.method === reference)?.[`loss@${c}`];
        row[`seed${seed}`] = loss;
        if (loss === undefined) continue;
        sum += loss;
        count++;
        if (method !== reference && ref !== undefined && loss < ref) below++;
      }
      row.mean = count ? sum / count : undefined;
      row.belowReference = method === reference ? undefined : `${below}/${perSeed.length}`;
      rows.push(row);
    }
  }
  return rows;
}

/** One stderr line per outer iteration, prefixed by `label` (what `bilevel run` prints off a terminal). */
export function progressLine(label) {
  const t0 = performance.now();
  return (r) => {
    const psnr = r.psnr === undefined ? '' : ` psnr ${r.psnr.toFixed(2)} dB`;
    process.stderr.write(`${label}: iter ${r.iter} t ${((performance.now() - t0) / 1000).toFixed(1)}s loss ${r.upperLoss.toPrecision(5)}${psnr} ε ${r.epsilon.toExponential(1)} ‖z‖ ${r.gradNorm.toExponential(2)} α ${r.step.toExponential(1)} lower ${r.lowerIterations} cg ${r.cgIterations}\n`);
  };
}
