// Shared helpers of tools/compare: config merging, cost bookkeeping, tables and multi-series SVG plots.
import { mkdirSync, readdirSync, rmSync, existsSync, writeFileSync } from 'node:fs';

// Tables and plots live in @bilevel/cli (bilevel sweep writes the same ones).
export { COLORS, csvTable, markdownTable, svgLines } from '@bilevel/cli';

/** Deep merge of plain objects (arrays and scalars of `b` replace those of `a`; null removes a key): the sweep file's merge. */
export { deepMerge as merge } from '@bilevel/distributed';

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
