// Multi-series line plots as SVG (bilevel sweep's loss.svg / psnr.svg, tools/compare's comparison plots).

export const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf', '#000000'];

/** One line: its legend label, points (xs[i], ys[i]), and its style. */
export interface Series {
  label: string;
  xs: readonly number[];
  ys: readonly number[];
  dashed?: boolean;
  color?: string;
}

export interface PlotOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  logX?: boolean;
  logY?: boolean;
  xMin?: number;
  xMax?: number;
  yMin?: number;
  yMax?: number;
}

const escapeXml = (s: string) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const step0 = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= step0) ?? step0;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + 1e-9 * step; t += step) ticks.push(+t.toPrecision(12));
  return ticks;
}

/** The axes' ranges and the data → pixel maps of a plot. */
function frame(series: readonly Series[], o: PlotOptions, box: { W: number; H: number; ml: number; mr: number; mt: number; mb: number }) {
  const { W, H, ml, mr, mt, mb } = box;
  const finite = series.flatMap((s) => s.xs.map((x, i) => [x, s.ys[i]])).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const positive = (v: number[]) => v.filter((t) => t > 0);
  const xMinRaw = o.xMin ?? (o.logX ? Math.min(...positive(finite.map((p) => p[0]))) : 0);
  const xMaxRaw = o.xMax ?? Math.max(...finite.map((p) => p[0]));
  const yMinRaw = o.yMin ?? (o.logY ? Math.min(...positive(finite.map((p) => p[1]))) : Math.min(...finite.map((p) => p[1])));
  const yMaxRaw = o.yMax ?? Math.max(...finite.map((p) => p[1]));
  const fx = (x: number) => (o.logX ? Math.log10(Math.max(x, xMinRaw)) : x);
  const fy = (y: number) => (o.logY ? Math.log10(Math.max(y, yMinRaw)) : y);
  const x0 = fx(xMinRaw), x1 = Math.max(fx(xMaxRaw), x0 + 1e-9);
  const y0 = fy(yMinRaw), y1 = Math.max(fy(yMaxRaw), y0 + 1e-9);
  const sx = (x: number) => ml + ((Math.min(Math.max(fx(x), x0), x1) - x0) / (x1 - x0)) * (W - ml - mr);
  const sy = (y: number) => H - mb - ((Math.min(Math.max(fy(y), y0), y1) - y0) / (y1 - y0)) * (H - mt - mb);
  return { empty: finite.length === 0, fx, x0, x1, y0, y1, sx, sy };
}

/**
 * A multi-series line plot as SVG (legend on the right). On a log axis non-positive values are clamped to the axis
 * minimum; points right of xMax are left out.
 */
export function svgLines(series: readonly Series[], o: PlotOptions): string {
  const box = { W: 780, H: 470, ml: 70, mr: 220, mt: 36, mb: 50 };
  const { W, H, ml, mr, mt, mb } = box;
  const f = frame(series, o, box);
  if (f.empty) return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}"><text x="10" y="20">${escapeXml(o.title)}: no data</text></svg>`;
  const { fx, x0, x1, y0, y1, sx, sy } = f;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${(ml + W - mr) / 2}" y="20" text-anchor="middle" font-size="14">${escapeXml(o.title)}</text>`,
    `<line x1="${ml}" y1="${H - mb}" x2="${W - mr}" y2="${H - mb}" stroke="black"/><line x1="${ml}" y1="${mt}" x2="${ml}" y2="${H - mb}" stroke="black"/>`,
    `<text x="${(ml + W - mr) / 2}" y="${H - 12}" text-anchor="middle">${escapeXml(o.xLabel)}</text>`,
    `<text x="16" y="${(mt + H - mb) / 2}" transform="rotate(-90 16 ${(mt + H - mb) / 2})" text-anchor="middle">${escapeXml(o.yLabel)}</text>`,
  ];
  const ticks = (lo: number, hi: number, log?: boolean) => (log ? niceTicks(Math.ceil(lo - 1e-9), Math.floor(hi + 1e-9)).filter(Number.isInteger).map((t) => 10 ** t) : niceTicks(lo, hi));
  const label = (t: number) => (Math.abs(t) >= 1e5 || (Math.abs(t) < 1e-2 && t !== 0) ? t.toExponential(0) : String(+t.toPrecision(4)));
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
