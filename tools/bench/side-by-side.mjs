#!/usr/bin/env node
// Runs one benchmark filter in two checkouts alternately on this machine and prints both medians and their ratio as JSON.
//   node tools/bench/side-by-side.mjs --baseline <other checkout, built> [--filter e2e] [--rounds 2]
// Both checkouts must be built (npm run build). Each round runs the baseline, then this checkout, so machine load
// drifts affect both alike.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const baseline = arg('baseline');
if (!baseline) {
  console.error('usage: side-by-side.mjs --baseline <checkout> [--filter e2e] [--rounds 2]\n  → build the other checkout first (npm run build there)');
  process.exit(2);
}
const filter = arg('filter', 'e2e');
const rounds = Number(arg('rounds', '2'));
const here = resolve(new URL('../..', import.meta.url).pathname);
const dir = mkdtempSync(join(tmpdir(), 'bilevel-side-by-side-'));

/** Runs the bench of `checkout` once; returns its figures by name. */
function bench(checkout, tag) {
  const out = join(dir, `${tag}.json`);
  execFileSync('node', [join(checkout, 'tools/bench/dist/main.js'), '--filter', filter, '--out', out], { cwd: checkout, stdio: ['ignore', 'ignore', 'inherit'] });
  return JSON.parse(readFileSync(out, 'utf8'));
}

const runs = { baseline: [], current: [] };
for (let r = 0; r < rounds; r++) {
  runs.baseline.push(...bench(resolve(baseline), `baseline-${r}`));
  runs.current.push(...bench(here, `current-${r}`));
}
const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const names = [...new Set(runs.current.map((f) => f.name))];
for (const name of names) {
  const pick = (list) => list.filter((f) => f.name === name && typeof f.medianMs === 'number').map((f) => f.medianMs);
  const b = median(pick(runs.baseline)), c = median(pick(runs.current));
  console.log(JSON.stringify({ name, rounds, baselineMedianMs: b, currentMedianMs: c, ratio: +(c / b).toFixed(4), baseline: resolve(baseline), current: here }));
}
