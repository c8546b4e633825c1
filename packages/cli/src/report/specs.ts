import type { ParameterBlock } from '@bilevel/core';
import type { TopLevelSpec } from 'vega-lite';
import type { RunData } from './data.js';

/** One Vega-Lite figure of the report: `id` names its container (`fig-<id>`) and its PNG/SVG files. */
export interface Figure {
  id: string;
  title: string;
  spec: TopLevelSpec;
}

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const W = 360;
const H = 230;

/** One point of a curve in long form: `series` names the quantity (train/test PSNR, ε, δ, …). */
interface CurvePoint {
  run: string;
  series: string;
  iter: number;
  seconds: number | null;
  cost: number | null;
  value: number;
}

const valid = (v: unknown, positive: boolean): v is number => typeof v === 'number' && Number.isFinite(v) && (!positive || v > 0);

function points(runs: RunData[], series: Record<string, string>, positive: boolean): CurvePoint[] {
  const out: CurvePoint[] = [];
  for (const r of runs) {
    for (const q of r.rows) {
      for (const [field, name] of Object.entries(series)) {
        const v = q[field];
        if (valid(v, positive)) {
          const cost = q.lowerIterations + q.cgIterations;
          // Rows missing a field keep their other plots (null points are dropped by Vega-Lite).
          out.push({ run: r.label, series: name, iter: q.iter, seconds: valid(q.seconds, false) ? +q.seconds.toFixed(4) : null, cost: valid(cost, false) ? cost : null, value: v });
        }
      }
    }
  }
  return out;
}

const TOOLTIP = [
  { field: 'run', type: 'nominal' },
  { field: 'series', type: 'nominal', title: 'quantity' },
  { field: 'iter', type: 'quantitative', title: 'outer iteration' },
  { field: 'seconds', type: 'quantitative', title: 'wall time (s)', format: '.2f' },
  { field: 'cost', type: 'quantitative', title: 'lower + CG iterations' },
  { field: 'value', type: 'quantitative', format: '.4~g' },
] as const;

const X_AXES = {
  seconds: 'wall time (s)',
  cost: 'lower-level + CG iterations',
  iter: 'outer iteration',
} as const;

/**
 * Curves of `value` against the x fields, one panel each (hconcat). Colour separates runs when there are
 * several, else the quantities; with several runs and several quantities the quantity is the dash pattern.
 */
function curves(
  id: string, title: string, data: CurvePoint[], yTitle: string, log: boolean, xs: (keyof typeof X_AXES)[], runs: string[], quantities: string[],
): Figure {
  const multi = runs.length > 1;
  const colorField = multi ? 'run' : 'series';
  const showColor = multi || quantities.length > 1;
  const perSeries = data.length / Math.max(1, new Set(data.map((d) => `${d.run}/${d.series}`)).size);
  const panel = (x: keyof typeof X_AXES) => ({
    width: xs.length > 1 ? W : W + 120,
    height: H,
    mark: { type: 'line' as const, point: perSeries <= 60 ? { size: 18 } : false, strokeWidth: 1.8, clip: true },
    encoding: {
      x: { field: x, type: 'quantitative' as const, title: X_AXES[x] },
      y: { field: 'value', type: 'quantitative' as const, title: yTitle, scale: log ? { type: 'log' as const, nice: false } : { zero: false } },
      ...(showColor ? { color: { field: colorField, type: 'nominal' as const, title: multi ? 'run' : null, scale: { domain: multi ? runs : quantities } } } : {}),
      ...(quantities.length > 1
        ? { strokeDash: { field: 'series', type: 'nominal' as const, title: null, scale: { domain: quantities }, legend: multi ? { symbolType: 'stroke', symbolStrokeColor: '#555', symbolFillColor: 'transparent', symbolStrokeWidth: 2, symbolSize: 300 } : {} } }
        : {}),
      detail: { field: 'series', type: 'nominal' as const },
      tooltip: [...TOOLTIP],
    },
  });
  const spec: TopLevelSpec = xs.length === 1
    ? { $schema: SCHEMA, title, data: { values: data }, ...panel(xs[0]) }
    : { $schema: SCHEMA, title, data: { values: data }, hconcat: xs.map(panel), resolve: { scale: { y: 'shared' } } };
  return { id, title, spec };
}

/** Upper loss, PSNR and MAID's accuracies over the run(s). */
export function convergenceFigures(runs: RunData[], prefix = ''): Figure[] {
  const multi = runs.length > 1;
  const labels = runs.map((r) => r.label);
  const figs: Figure[] = [];
  const loss = points(runs, { upperLoss: 'upper loss' }, true);
  if (loss.length > 0) {
    // A log axis only where the loss spans decades.
    const values = loss.map((p) => p.value);
    const log = Math.max(...values) / Math.min(...values) > 30;
    figs.push(curves(`${prefix}loss`, 'Upper loss', loss, log ? 'upper loss (log)' : 'upper loss', log, ['seconds', 'cost'], labels, ['upper loss']));
  }
  const psnr = points(runs, { psnr: 'train', testPsnr: 'test' }, false);
  if (psnr.length > 0) {
    const q = [...new Set(psnr.map((p) => p.series))];
    figs.push(curves(`${prefix}psnr`, 'PSNR (dB, at the current θ)', psnr, 'PSNR (dB)', false, ['seconds', 'cost'], labels, q));
  }
  const acc = points(runs, { epsilon: 'ε (lower-level)', delta: 'δ (CG)', omega: 'ω (hypergradient error bound)', step: 'step size' }, true);
  if (acc.length > 0) {
    const q = [...new Set(acc.map((p) => p.series))];
    const title = 'Accuracies ε, δ, ω and step size per outer iteration';
    if (!multi) figs.push(curves(`${prefix}accuracy`, title, acc, 'value (log)', true, ['iter'], labels, q));
    else {
      const spec: TopLevelSpec = {
        $schema: SCHEMA, title, data: { values: acc },
        facet: { field: 'series', type: 'nominal', title: null, sort: q }, columns: 2,
        spec: {
          width: W - 60, height: H - 50,
          mark: { type: 'line', strokeWidth: 1.5, clip: true },
          encoding: {
            x: { field: 'iter', type: 'quantitative', title: X_AXES.iter },
            y: { field: 'value', type: 'quantitative', title: null, scale: { type: 'log' } },
            color: { field: 'run', type: 'nominal', title: 'run', scale: { domain: labels } },
            tooltip: [...TOOLTIP],
          },
        },
        resolve: { scale: { y: 'independent' } },
      };
      figs.push({ id: `${prefix}accuracy`, title, spec });
    }
  }
  return figs;
}

/** How a block of θ is shown. */
export type BlockKind = 'filters' | 'curves' | 'table' | 'values';

/** Where tap (i, j) of channel `ch` of filter `kk` sits in θ, for the filter-bank layouts the report knows. */
export interface FilterGeometry {
  h: number;
  w: number;
  channels: number;
  count: number;
  at(kk: number, ch: number, i: number, j: number): number;
}

/**
 * A block as a filter bank: 4-D [h, w, c, K] (conv2d HWIO, e.g. [s, s, 1, K]) or [K, c, h, w] (OIHW);
 * 3-D [K, h, w] (square taps, e.g. FoE's [K, s, s]) or [h, w, K]. Undefined for anything else.
 */
export function filterGeometry(b: ParameterBlock): FilterGeometry | undefined {
  const o = b.offset, sh = b.shape;
  if (sh.length === 4) {
    const [a0, a1, a2, a3] = sh;
    if (a0 === a1 || a2 !== a3) return { h: a0, w: a1, channels: a2, count: a3, at: (kk, ch, i, j) => o + ((i * a1 + j) * a2 + ch) * a3 + kk };
    return { h: a2, w: a3, channels: a1, count: a0, at: (kk, ch, i, j) => o + ((kk * a1 + ch) * a2 + i) * a3 + j };
  }
  if (sh.length === 3) {
    const [a0, a1, a2] = sh;
    if (a1 === a2) return { h: a1, w: a2, channels: 1, count: a0, at: (kk, _ch, i, j) => o + (kk * a1 + i) * a2 + j };
    if (a0 === a1) return { h: a0, w: a1, channels: 1, count: a2, at: (kk, _ch, i, j) => o + (i * a1 + j) * a2 + kk };
  }
  return undefined;
}

/** 4-D blocks are filter banks (tiles), blocks named like spline/knots/activation are curves, then square 3-D blocks are filters too. */
export function blockKind(b: ParameterBlock): BlockKind {
  if (b.shape.length === 4) return 'filters';
  if (/spline|knot|activation/i.test(b.name)) return 'curves';
  if (filterGeometry(b)) return 'filters';
  return size(b) <= 16 ? 'table' : 'values';
}

export const size = (b: ParameterBlock): number => b.shape.reduce((a, c) => a * c, 1);

const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'block';

/** A filter bank: one tile per filter (and channel), each scaled to its own max |θ| (grey = 0, white = +max, black = −max). */
function filterFigure(id: string, b: ParameterBlock, theta: number[]): Figure {
  const { h, w, channels: c, count: k, at } = filterGeometry(b)!;
  const tiles: { n: number; i: number; j: number; v: number; theta: number }[] = [];
  for (let kk = 0; kk < k; kk++) {
    for (let ch = 0; ch < c; ch++) {
      let max = 0;
      for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) max = Math.max(max, Math.abs(theta[at(kk, ch, i, j)] ?? 0));
      for (let i = 0; i < h; i++) {
        for (let j = 0; j < w; j++) {
          const t = theta[at(kk, ch, i, j)] ?? 0;
          tiles.push({ n: kk * c + ch + 1, i, j, v: max > 0 ? +(t / max).toFixed(4) : 0, theta: +t.toPrecision(5) });
        }
      }
    }
  }
  const count = k * c;
  const cell = Math.max(3, Math.min(16, Math.floor(96 / Math.max(h, w))));
  const title = `${b.name} [${b.shape.join(', ')}]: ${count} filter${count === 1 ? '' : 's'} ${h}×${w}${c > 1 ? ` (${k} × ${c} channels)` : ''}, each scaled to its max |θ|`;
  const spec: TopLevelSpec = {
    $schema: SCHEMA, title, data: { values: tiles },
    facet: { field: 'n', type: 'ordinal', title: null, header: { labelFontSize: 9, labelPadding: 1 } },
    columns: Math.min(count, 12), spacing: 4,
    spec: {
      width: cell * w, height: cell * h,
      mark: { type: 'rect' },
      encoding: {
        x: { field: 'j', type: 'ordinal', axis: null },
        y: { field: 'i', type: 'ordinal', axis: null },
        color: { field: 'v', type: 'quantitative', scale: { domain: [-1, 1], range: ['black', 'white'] }, title: 'θ / max|θ|' },
        tooltip: [{ field: 'n', title: 'filter' }, { field: 'i', title: 'row' }, { field: 'j', title: 'column' }, { field: 'theta', title: 'θ' }],
      },
    },
  };
  return { id, title, spec };
}

/** A block of curve values, last axis = knots, leading axes = one curve each. */
function curveFigure(id: string, b: ParameterBlock, theta: number[]): Figure {
  const knots = b.shape.length ? b.shape[b.shape.length - 1] : 1;
  const count = Math.max(1, size(b) / knots);
  const values: { curve: number; knot: number; theta: number }[] = [];
  for (let c = 0; c < count; c++) for (let t = 0; t < knots; t++) values.push({ curve: c + 1, knot: t, theta: theta[b.offset + c * knots + t] ?? NaN });
  const title = `${b.name}: ${count} curve${count === 1 ? '' : 's'} over ${knots} knots`;
  const spec: TopLevelSpec = {
    $schema: SCHEMA, title, data: { values: values.filter((v) => Number.isFinite(v.theta)) },
    width: W + 120, height: H,
    mark: { type: 'line', point: knots <= 40 ? { size: 14 } : false, strokeWidth: 1.5 },
    encoding: {
      x: { field: 'knot', type: 'quantitative', title: 'knot index' },
      y: { field: 'theta', type: 'quantitative', title: 'θ' },
      ...(count > 1 ? { color: { field: 'curve', type: 'nominal', title: 'curve', legend: count <= 12 ? {} : null } } : {}),
      tooltip: [{ field: 'curve' }, { field: 'knot' }, { field: 'theta', title: 'θ', format: '.4~g' }],
    },
  };
  return { id, title, spec };
}

/** Any other large block: θ against its flat index. */
function valuesFigure(id: string, b: ParameterBlock, theta: number[]): Figure {
  const n = size(b);
  const values = Array.from({ length: n }, (_, i) => ({ index: i, theta: theta[b.offset + i] ?? NaN })).filter((v) => Number.isFinite(v.theta));
  const title = `${b.name}: ${n} values, shape [${b.shape.join(', ')}]`;
  const spec: TopLevelSpec = {
    $schema: SCHEMA, title, data: { values },
    width: W + 120, height: H - 50,
    mark: n <= 200 ? { type: 'bar' } : { type: 'point', filled: true, size: 6 },
    encoding: {
      x: { field: 'index', type: n <= 200 ? 'ordinal' : 'quantitative', title: 'index (row-major)', axis: n <= 200 && n > 40 ? { labels: false, ticks: false } : {} },
      y: { field: 'theta', type: 'quantitative', title: 'θ' },
      tooltip: [{ field: 'index' }, { field: 'theta', title: 'θ', format: '.4~g' }],
    },
  };
  return { id, title, spec };
}

/** The figures of the learned parameters of one run (blocks shown as tables are left to the page). */
export function parameterFigures(run: RunData, prefix = ''): Figure[] {
  const t = run.theta;
  if (!t) return [];
  const figs: Figure[] = [];
  for (const b of t.layout.blocks) {
    const id = `${prefix}theta-${slug(b.name)}`;
    const kind = blockKind(b);
    if (kind === 'filters') figs.push(filterFigure(id, b, t.theta));
    else if (kind === 'curves') figs.push(curveFigure(id, b, t.theta));
    else if (kind === 'values') figs.push(valuesFigure(id, b, t.theta));
  }
  return figs;
}
