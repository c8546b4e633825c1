#!/usr/bin/env node
// Learning the discretization of TV by inexact piggyback (saddle-point lower level, PDHG + adjoint alongside),
// compared with standard-discretization TV whose weight is learned the same way; adaptive (MAID) and fixed accuracy.
//
//   npx tsc -b && node tools/compare/piggyback.mjs examples/tv-discretization-piggyback.json --out runs/piggyback [--force]
//        [--only standard-adaptive,learned-adaptive] [--backend wasm] [--huber-sweep 1e-4,3e-4,1e-3]
//   node tools/compare/piggyback.mjs <config.json> --out <dir> --from runs/a/results.json,runs/b/results.json --huber-sweep …
//
// --huber-sweep re-evaluates each run's final θ with other ε_H (train loss, train / test PSNR; huber.md / huber.csv):
// how much of a result depends on the smoothing it was trained with. --from skips training and sweeps the θ of earlier
// results.json files instead (a learned run's tap scale is its own record's, else e^θ of a standard run in the files).
//
// Writes table.md / table.csv / results.json and loss.svg / psnr.svg (upper loss and train PSNR against total PDHG +
// adjoint iterations). Each run is a bilevel experiment with `"oracle": { "name": "piggyback" }` (what `bilevel run`
// runs): see pbConfig below.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { meanPsnr, MeanSquaredUpperLoss, readScalars, tf, useBackend } from '@bilevel/core';
import { buildExperiment, runExperiment } from '@bilevel/experiment';
import { cost, csvTable, markdownTable, parseArgs, prepareOut, progressLine, svgLines, writeJson } from './lib.mjs';

const { positional, flags } = parseArgs(process.argv.slice(2));
if (positional.length !== 1 || !flags.out) {
  console.error('usage: node tools/compare/piggyback.mjs <config.json> --out <dir> [--force] [--only a,b] [--backend wasm] [--huber-sweep a,b] [--from results.json,…]');
  process.exit(2);
}
function fail(message) {
  console.error(`piggyback: ${message}`);
  process.exit(2);
}
const sweep = flags['huber-sweep'] === undefined ? undefined : String(flags['huber-sweep']).split(',').map(Number);
if (sweep && !sweep.every((h) => Number.isFinite(h) && h > 0)) fail(`--huber-sweep "${flags['huber-sweep']}": give positive ε_H values separated by commas, e.g. 1e-4,3e-4,1e-3`);
if (flags.from && !sweep) fail('--from only re-evaluates earlier results: add --huber-sweep with the ε_H values to evaluate');
const fromFiles = flags.from ? String(flags.from).split(',').map((f) => resolve(f)) : [];
for (const f of fromFiles) if (!existsSync(f)) fail(`--from: "${f}" does not exist: give the results.json files of earlier runs of this script`);
const configPath = resolve(positional[0]);
const cfg = JSON.parse(readFileSync(configPath, 'utf8'));
const baseDir = dirname(configPath);
const out = resolve(flags.out);
/** The piggyback oracle's options of the standard discretization, and of a learned one with tap scale c. */
const standard = { discretization: 'standard' };
const learnedFamily = (tapScale, size = cfg.learned?.filterSize ?? 3, groups = cfg.learned?.groups ?? 4) => ({ discretization: 'learned', filterSize: size, groups, tapScale });
const fromRuns = flags.from ? loadRuns(fromFiles) : undefined;
prepareOut(out, Boolean(flags.force));
const backend = await useBackend(flags.backend ?? cfg.backend ?? 'wasm');
const say = (s) => process.stdout.write(s + '\n');
const seed = cfg.seed ?? 0;
const pbOptions = { huber: cfg.huber ?? 1e-3, ...(cfg.pdhg ?? {}) };
const tolerance = cfg.evaluationTolerance ?? 1e-3;

/** A bilevel config running `optimizer` on the piggyback oracle with the discretization `family` (and its extra options). */
const pbConfig = (family, optimizer, budget, extra = {}) => ({
  name: cfg.name ?? 'piggyback', seed, data: cfg.data, evaluationTolerance: tolerance, budget,
  oracle: { name: 'piggyback', options: { ...pbOptions, ...family, ...extra } }, optimizer,
});

{
  const e = await buildExperiment(pbConfig(standard, 'maid', { maxIterations: 1 }), { baseDir });
  const { train, test } = await e.spec();
  say(`piggyback ${cfg.name ?? ''} on ${backend}: ${train.clean.shape[0]} train${test ? ` / ${test.clean.shape[0]} test` : ''} images ${train.clean.shape[1]}×${train.clean.shape[2]}, ε_H = ${pbOptions.huber}`);
  await e.dispose();
}

/** Upper loss and PSNR at θ of the train or test split, reconstructed by PDHG to the evaluation tolerance with `options`. */
async function evaluateAt(family, theta, options) {
  const e = await buildExperiment(pbConfig(family, 'maid', { maxIterations: 1 }, options), { baseDir });
  const spec = await e.spec();
  const one = async (pairs) => {
    const { x } = await spec.evaluator.solve(pairs, Float64Array.from(theta), tolerance);
    const [loss] = await readScalars(new MeanSquaredUpperLoss(pairs.clean).value(x));
    const psnr = await meanPsnr(x, pairs.clean);
    x.dispose();
    return { loss, psnr };
  };
  const r = { train: await one(spec.train), test: spec.test ? await one(spec.test) : undefined };
  await e.dispose();
  return r;
}

/** Each run's final θ evaluated with every ε_H of the sweep: train loss, train and test PSNR (huber.md / huber.csv). */
async function huberSweep(records) {
  const rows = [];
  for (const r of records) {
    for (const huber of sweep) {
      // At the ε_H and tolerance it was trained and evaluated with, the run's own evaluation is this one.
      const own = r.huber === huber && r.tolerance === tolerance;
      const ev = own ? { train: r.train, test: r.test } : await evaluateAt(r.family, r.theta, { huber });
      const tr = ev.train, te = ev.test;
      rows.push({ method: r.label, trainedWith: r.huber ?? '—', huber, upperLoss: tr.loss, trainPsnr: tr.psnr, testPsnr: te?.psnr });
      say(`  ${r.label} (trained with ε_H = ${r.huber ?? '?'}) at ε_H = ${huber}: loss ${tr.loss.toFixed(5)}, train ${tr.psnr.toFixed(3)} dB${te ? `, test ${te.psnr.toFixed(3)} dB` : ''}`);
    }
  }
  const columns = [
    { key: 'method', title: 'method', align: 'left' }, { key: 'trainedWith', title: 'trained with ε_H' }, { key: 'huber', title: 'evaluated with ε_H' },
    { key: 'upperLoss', title: 'upper loss', digits: 6 }, { key: 'trainPsnr', title: 'train PSNR', digits: 5 }, { key: 'testPsnr', title: 'test PSNR', digits: 5 },
  ];
  const md = `# ${cfg.name ?? 'piggyback'}: final θ against the Huber smoothing ε_H\n\nEach run's final θ, evaluated at PDHG tolerance ${tolerance} with other ε_H (nothing re-trained).\n\n${markdownTable(columns, rows)}`;
  writeFileSync(join(out, 'huber.md'), md);
  writeFileSync(join(out, 'huber.csv'), csvTable(columns, rows));
  say(`\n${md}\nwrote ${out}/huber.md, huber.csv`);
  return rows;
}

/** Runs of earlier results.json files, with the discretization each was trained on. */
function loadRuns(files) {
  const records = files.flatMap((f) => JSON.parse(readFileSync(f, 'utf8')).runs ?? []);
  const std = records.find((r) => r.family === 'scaled');
  return records.map((r) => {
    if (r.family === 'scaled') return { ...r, family: standard };
    const tapScale = r.tapScale ?? (std ? Math.exp(std.theta[0]) : undefined);
    if (tapScale === undefined) fail(`--from: learned run "${r.label}" has no tapScale and no standard run is among the files: add the results.json that holds standard-adaptive`);
    return { ...r, family: learnedFamily(tapScale, r.size, r.groups) };
  });
}

if (fromRuns) {
  await huberSweep(fromRuns);
  process.exit(0);
}

/** One run: the method on the piggyback oracle through runExperiment; its rows, θ path, work and evaluation. */
async function run(label, family, init, method) {
  const budget = { ...cfg.budget, ...(method.budget ?? {}) };
  const optimizer = { name: method.kind === 'adaptive' ? 'maid' : 'fixed-accuracy-gd', options: method.options ?? {} };
  const experiment = await buildExperiment(pbConfig(family, optimizer, budget, init), { baseDir });
  const { theta0 } = await experiment.spec();
  const rows = [], thetas = [];
  const progress = progressLine(label);
  const res = await runExperiment(experiment, {
    onIteration: (r, theta) => {
      rows.push({ ...r });
      thetas.push(Array.from(theta));
      progress(r);
    },
  });
  const wall = res.wallSeconds;
  const counters = { lowerIterations: res.lowerIterations, cgIterations: res.cgIterations };
  tf.dispose([res.images.train.input, res.images.train.learned, ...(res.images.test ? [res.images.test.input, res.images.test.learned] : [])]);
  await experiment.dispose();
  const trainEval = { loss: res.upperLoss, psnr: res.train.psnr.learned };
  const testEval = res.test ? { psnr: res.test.psnr.learned } : undefined;
  say(`  ${label}: ${res.stopReason} (${res.message}) after ${res.iterations} its, ${wall.toFixed(1)} s; loss ${trainEval.loss.toFixed(5)}, train ${trainEval.psnr.toFixed(2)} dB${testEval ? `, test ${testEval.psnr.toFixed(2)} dB` : ''}${res.theta.length <= 4 ? `; θ = (${res.theta.map((t) => t.toPrecision(9)).join(', ')})` : ''}`);
  const learned = family.discretization === 'learned';
  return {
    label, family: learned ? 'learned' : 'scaled', size: learned ? family.filterSize : 2, groups: learned ? family.groups : 1, tapScale: learned ? family.tapScale : 1,
    huber: pbOptions.huber, tolerance, parameters: theta0.length, theta0: Array.from(theta0), theta: res.theta, result: res,
    rows, thetas, wall, counters, train: trainEval, test: testEval, accuracy: method.kind,
  };
}

const only = flags.only ? new Set(String(flags.only).split(',')) : undefined;

const runs = [];
const theta0Std = cfg.standard?.theta0 ?? [Math.log(0.05)];
const want = (l) => !only || only.has(l);
let stdAdaptive;
if (want('standard-adaptive') || want('learned-adaptive') || want('learned-fixed')) {
  stdAdaptive = await run('standard-adaptive', standard, { theta0: theta0Std }, { kind: 'adaptive', options: cfg.adaptive });
  if (want('standard-adaptive')) runs.push(stdAdaptive);
}
if (want('standard-fixed')) runs.push(await run('standard-fixed', standard, { theta0: theta0Std }, { kind: 'fixed', options: cfg.fixed }));
// The learned discretization starts from the learned standard TV (tapScale = its weight e^θ*, see initialLearnedTheta).
const weight = Math.exp((stdAdaptive?.theta ?? theta0Std)[0]);
const learned = { ...learnedFamily(weight), size: cfg.learned?.filterSize ?? 3 };
const init = cfg.learned?.init ?? 'shifted';
const learnedInit = { init, noise: cfg.learned?.noise ?? 0.1, share: cfg.learned?.share ?? 0.05 };
if (want('learned-adaptive')) runs.push(await run('learned-adaptive', learnedFamily(weight), learnedInit, { kind: 'adaptive', options: { ...cfg.adaptive, ...(cfg.learned?.adaptive ?? {}) } }));
if (want('learned-fixed')) runs.push(await run('learned-fixed', learnedFamily(weight), learnedInit, { kind: 'fixed', options: { ...cfg.fixed, ...(cfg.learned?.fixed ?? {}) } }));

const base = runs.find((r) => r.label === 'standard-adaptive');
const table = runs.map((r) => ({
  method: r.label, discretization: r.family === 'scaled' ? 'forward differences, learned weight' : `learned ${learned.size}×${learned.size}, ${learned.groups} groups`,
  accuracy: r.accuracy, parameters: r.parameters, stop: r.result.stopReason, iterations: r.result.iterations,
  upperLoss: r.train.loss, trainPsnr: r.train.psnr, testPsnr: r.test?.psnr, testGain: base && r.test && base.test ? r.test.psnr - base.test.psnr : undefined,
  pdhgIterations: r.counters.lowerIterations, adjointIterations: r.counters.cgIterations, work: r.counters.lowerIterations + r.counters.cgIterations,
  wallSeconds: r.wall,
}));
const columns = [
  { key: 'method', title: 'method', align: 'left' }, { key: 'discretization', title: 'K', align: 'left' }, { key: 'accuracy', title: 'accuracy', align: 'left' },
  { key: 'parameters', title: 'params' }, { key: 'stop', title: 'stop', align: 'left' }, { key: 'iterations', title: 'outer its' },
  { key: 'upperLoss', title: 'final upper loss', digits: 6 }, { key: 'trainPsnr', title: 'train PSNR', digits: 4 }, { key: 'testPsnr', title: 'test PSNR', digits: 4 },
  { key: 'testGain', title: 'test Δ vs standard (dB)', digits: 3 },
  { key: 'pdhgIterations', title: 'PDHG its' }, { key: 'adjointIterations', title: 'adjoint its' }, { key: 'work', title: 'PDHG + adjoint' },
  { key: 'wallSeconds', title: 'wall s', digits: 3 },
];
const md = `# ${cfg.name ?? 'piggyback'}\n\n${cfg.description ?? ''}\n\nBackend ${backend}; ε_H = ${pbOptions.huber}; final losses and PSNRs evaluated at PDHG tolerance ${tolerance}. ` +
  `The learned discretization starts from the learned standard TV (weight e^θ*: the Neumann forward differences in group 1, ${learned.groups - 1} more groups of ${init === 'diverse' ? 'other derivative stencils' : 'shifted stencils'} with a small share); its work column counts only its own run.\n\n` +
  markdownTable(columns, table);
writeFileSync(join(out, 'table.md'), md);
writeFileSync(join(out, 'table.csv'), csvTable(columns, table));
const huberRows = sweep ? await huberSweep(runs.map((r) => ({ ...r, family: r.family === 'scaled' ? standard : learnedFamily(weight) }))) : undefined;
writeJson(join(out, 'results.json'), { name: cfg.name, backend, table, huberSweep: huberRows, runs: runs.map((r) => ({ ...r, result: { ...r.result, images: undefined } })) });
const series = (key) => runs.map((r) => ({ label: r.label, xs: r.rows.map(cost), ys: r.rows.map((q) => q[key]), dashed: r.accuracy === 'fixed' }));
writeFileSync(join(out, 'loss.svg'), svgLines(series('upperLoss'), { title: `${cfg.name ?? ''}: upper loss vs work`, xLabel: 'total PDHG + adjoint iterations', yLabel: 'upper loss (log scale)', logY: true }));
writeFileSync(join(out, 'psnr.svg'), svgLines(series('psnr'), { title: `${cfg.name ?? ''}: train PSNR vs work`, xLabel: 'total PDHG + adjoint iterations', yLabel: 'mean train PSNR (dB)' }));
say(`\n${md}\nwrote ${out}/table.md, table.csv, results.json, loss.svg, psnr.svg`);
