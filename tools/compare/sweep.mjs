#!/usr/bin/env node
// tools/compare/sweep.mjs: grid search over a few entries of θ — the ceiling any learning method can reach for a
// few-parameter regularizer on a split (test by default). For each grid point the lower level is solved to
// --tolerance from the naive reconstruction and the mean PSNR against the clean images is recorded.
//
//   npx tsc -b && node tools/compare/sweep.mjs examples/deblur-gaussian.json --grid "-7.5:-5.5:0.5,-7:-3.5:1" \
//        [--split test|train] [--tolerance 1e-3] [--regularizer tv-isotropic] [--out runs/sweep] [--backend wasm|cpu|webgpu]
//
// --grid gives one start:stop:step range per θ entry (entries not given stay at θ₀). Prints one JSON line per point
// and a final JSON line with the best point; with --out also writes sweep.json and table.md there.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { LowerLevelProblem, meanPsnr, tf, useBackend } from '@bilevel/core';
import { buildExperiment } from '@bilevel/experiment';
import { markdownTable, parseArgs, prepareOut, writeJson } from './lib.mjs';

/** "a:b:h" → [a, a + h, …, b] (within round-off). */
export function parseRange(text) {
  const [a, b, h] = text.split(':').map(Number);
  if (![a, b, h].every(Number.isFinite) || h <= 0 || b < a) throw new Error(`--grid range "${text}" must be start:stop:step with start ≤ stop and step > 0`);
  const n = Math.floor((b - a) / h + 1e-9);
  return Array.from({ length: n + 1 }, (_, i) => +(a + i * h).toFixed(10));
}

/** Cartesian product of the ranges. */
export function gridPoints(ranges) {
  return ranges.reduce((acc, r) => acc.flatMap((p) => r.map((v) => [...p, v])), [[]]);
}

async function main() {
  const { positional, flags } = parseArgs(process.argv.slice(2));
  if (positional.length !== 1 || typeof flags.grid !== 'string') {
    console.error('usage: node tools/compare/sweep.mjs CONFIG.json --grid "a:b:h[,a:b:h…]" [--split test|train] [--tolerance 1e-3] [--regularizer NAME] [--out DIR] [--force] [--backend NAME]');
    process.exit(2);
  }
  const file = resolve(positional[0]);
  const cfg = JSON.parse(readFileSync(file, 'utf8'));
  if (typeof flags.regularizer === 'string') cfg.regularizer = { ...(typeof cfg.regularizer === 'string' ? {} : cfg.regularizer), name: flags.regularizer };
  const split = flags.split ?? 'test';
  const tolerance = Number(flags.tolerance ?? 1e-3);
  const ranges = flags.grid.split(',').map(parseRange);
  if (flags.out) prepareOut(resolve(flags.out), Boolean(flags.force));
  await useBackend(flags.backend ?? cfg.backend);
  const experiment = await buildExperiment(cfg, { baseDir: dirname(file) });
  const spec = await experiment.spec();
  const pairs = split === 'train' ? spec.train : spec.test;
  if (!pairs) throw new Error(`the config has no ${split} split (data.${split})`);
  if (ranges.length > spec.theta0.length) throw new Error(`--grid has ${ranges.length} ranges but θ has ${spec.theta0.length} entries`);
  const problem = new LowerLevelProblem(spec.operator, spec.fidelity, spec.regularizer, pairs.measurement, spec.gamma);
  const x0 = spec.operator.naiveReconstruction(pairs.measurement);
  const input = await meanPsnr(x0, pairs.clean);
  const points = [];
  for (const p of gridPoints(ranges)) {
    const theta = Float32Array.from(spec.theta0);
    p.forEach((v, i) => (theta[i] = v));
    const r = await spec.lowerSolver.solve(problem, theta, x0, tolerance);
    const psnr = await meanPsnr(r.x, pairs.clean);
    r.x.dispose();
    points.push({ theta: p, psnr });
    console.log(JSON.stringify({ theta: p, psnr: +psnr.toFixed(4) }));
  }
  const best = points.reduce((a, b) => (b.psnr > a.psnr ? b : a));
  const summary = { config: positional[0], split, regularizer: spec.regularizer.name, tolerance, inputPsnr: input, best, gain: best.psnr - input };
  console.log(JSON.stringify(summary));
  if (flags.out) {
    const out = resolve(flags.out);
    writeJson(join(out, 'sweep.json'), { ...summary, points });
    const columns = [...ranges.map((_, i) => ({ key: `t${i}`, title: `θ${i}` })), { key: 'psnr', title: `${split} PSNR`, digits: 4 }];
    writeFileSync(join(out, 'table.md'), `# θ sweep: ${cfg.name ?? positional[0]}\n\n${split} input PSNR ${input.toFixed(2)} dB; best ${best.psnr.toFixed(2)} dB ` +
      `at θ = (${best.theta.join(', ')}).\n\n${markdownTable(columns, points.map((q) => ({ ...Object.fromEntries(q.theta.map((v, i) => [`t${i}`, v])), psnr: q.psnr })))}`);
  }
  x0.dispose();
  await experiment.dispose();
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e) => {
    console.error(`sweep: ${e.message}`);
    process.exit(1);
  });
}
