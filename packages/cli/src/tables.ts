// Result tables as Markdown and CSV (bilevel sweep, tools/compare).

/** A column: the row key it shows, its title, significant digits of numbers, alignment (default right). */
export interface Column {
  key: string;
  title: string;
  digits?: number;
  align?: 'left' | 'right';
}

export type TableRow = Record<string, unknown>;

/** A cell: numbers to `digits` significant digits (exponential when very large or small), absent values as "—". */
function cell(v: unknown, digits = 4): string {
  if (v === undefined || v === null || Number.isNaN(v)) return '—';
  if (typeof v !== 'number') return String(v);
  return Math.abs(v) >= 1e5 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(2) : Number(v.toPrecision(digits)).toString();
}

/** A Markdown table from column specs and rows of objects. */
export function markdownTable(columns: readonly Column[], rows: readonly TableRow[]): string {
  const head = `| ${columns.map((c) => c.title).join(' | ')} |`;
  const sep = `|${columns.map((c) => (c.align === 'left' ? ':---' : '---:')).join('|')}|`;
  const body = rows.map((r) => `| ${columns.map((c) => cell(r[c.key], c.digits)).join(' | ')} |`);
  return [head, sep, ...body].join('\n') + '\n';
}

/** The same rows as CSV (header: the column keys; values unformatted). */
export function csvTable(columns: readonly Column[], rows: readonly TableRow[]): string {
  const esc = (v: unknown) => (typeof v === 'string' && /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v ?? '');
  return [columns.map((c) => c.key).join(','), ...rows.map((r) => columns.map((c) => esc(r[c.key])).join(','))].join('\n') + '\n';
}
