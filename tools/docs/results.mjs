// The results page, generated from the measured figures kept as data: docs/data/results.json (experiments and
// comparisons: what, command, figure) and docs/data/bench-results.json (as `npm run bench` writes it).
import { generatedBanner, table } from './markdown.mjs';

/** Fields of a bench record shown in their own columns (the rest go to "details"). */
const OWN_COLUMNS = new Set(['name', 'backend', 'medianMs', 'runs', 'minMs', 'maxMs', 'machine', 'skipped', 'cpuMs', 'barMs']);

/** A number to at most 4 significant digits; anything else as JSON (strings bare). */
function shown(v) {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** One bench record as a row: figure, median, range, runs, CPU time, bar / reference, details. */
function benchRow(r, notes) {
  if (r.skipped) return [`\`${r.name}\``, '—', '—', 0, '—', notes[r.name], `skipped: ${r.skipped}`];
  const range = r.minMs !== undefined ? `${shown(r.minMs)}–${shown(r.maxMs)}` : undefined;
  const note = [r.barMs !== undefined ? `bar ≤ ${r.barMs} ms` : '', notes[r.name] ?? ''].filter(Boolean).join('; ');
  const details = Object.entries(r).filter(([k]) => !OWN_COLUMNS.has(k)).map(([k, v]) => `${k} ${shown(v)}`).join(', ');
  return [`\`${r.name}\``, shown(r.medianMs), range, r.runs, r.cpuMs === undefined ? undefined : shown(r.cpuMs), note, details];
}

/** The machines and backends the records were measured on, in words. */
function machines(records) {
  const seen = new Set(records.map((r) => `${r.backend} on ${r.machine?.cores ?? '?'} cores (${r.machine?.cpu ?? 'unknown CPU'}, ${r.machine?.device ?? 'cpu'})`));
  return [...seen].join('; ');
}

/** The benchmark section: every record of bench-results.json. */
function benchSection(bench, meta) {
  const rows = bench.map((r) => benchRow(r, meta.benchNotes ?? {}));
  return `## Kernel benchmarks

\`${meta.benchCommand}\` — ${meta.benchSelects}. ${meta.benchConditions ? meta.benchConditions + ' ' : ''}Measured ${machines(bench)}; times in ms, the median of
\`runs\` calls after warm-up, \`range\` the fastest and slowest call; \`cpu\` is the process CPU time per call (hardly
changed when other processes share the cores). Every record also carries its machine; \`npm run bench\` without
\`--filter\` runs every suite (end-to-end runs, worker threads, the engine) and writes \`bench-results.json\`.

${table(['figure', 'median', 'range', 'runs', 'cpu', 'bar / reference', 'details'], rows)}`;
}

/** One section of results.json: a title, an introduction and rows of what / command / figure (command under what). */
function resultSection(s) {
  const rows = s.rows.map((r) => [`${r.what}<br>${r.command.split('\n').map((c) => `\`${c}\``).join('<br>')}`, r.figure]);
  return `## ${s.title}\n\n${s.intro ? s.intro + '\n\n' : ''}${table(['what, and the command that measures it', 'figure'], rows)}`;
}

/** The results page from results.json ({ intro, sections, benchCommand, benchSelects, benchConditions, benchNotes }) and the bench records. */
export function resultsPage({ results, bench }) {
  return `---
title: Results
group: Reference
---
${generatedBanner('tools/docs/results.mjs from docs/data/results.json and docs/data/bench-results.json')}
# Results

${results.intro}

${results.sections.map(resultSection).join('\n')}
${benchSection(bench, results)}`;
}
