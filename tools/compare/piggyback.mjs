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
// adjoint iterations). The piggyback saddle problem is not a LowerLevelProblem, so this runs programmatically rather
// than through `bilevel run`.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { meanPsnr, tf, useBackend } from '@bilevel/core';
import { addGaussianNoise, loadImages, toBatch } from '@bilevel/datasets';
import { ConvOperatorFamily, PiggybackOracle, piggybackPsnr, runPiggyback } from '@bilevel/optimizers';
import { Progress } from '@bilevel/cli';
import { cost, csvTable, markdownTable, parseArgs, prepareOut, svgLines, writeJson } from './lib.mjs';

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
const standard = ConvOperatorFamily.forwardDifferences();
const learnedFamily = (tapScale, size = cfg.learned?.filterSize ?? 3, groups = cfg.learned?.groups ?? 4) => new ConvOperatorFamily('learned', size, groups, undefined, tapScale);
const fromRuns = flags.from ? loadRuns(fromFiles) : undefined;
prepareOut(out, Boolean(flags.force));
const backend = await useBackend(flags.backend ?? cfg.backend ?? 'wasm');
const say = (s) => process.stdout.write(s + '\n');
const seed = cfg.seed ?? 0;

const pairs = (source, path, noiseSeed) => {
  const clean = toBatch(loadImages(source, path, baseDir));
  const noisy = addGaussianNoise(clean, { type: 'gaussian', ...cfg.data.noise }, noiseSeed);
  return { clean, noisy };
};
const train = pairs(cfg.data.train, 'data.train', seed);
const test = cfg.data.test ? pairs(cfg.data.test, 'data.test', seed + 1) : undefined;
const disposeData = () => tf.dispose([train.clean, train.noisy, ...(test ? [test.clean, test.noisy] : [])]);
const pbOptions = { huber: cfg.huber ?? 1e-3, ...(cfg.pdhg ?? {}) };
const tolerance = cfg.evaluationTolerance ?? 1e-3;
say(`piggyback ${cfg.name ?? ''} on ${backend}: ${train.clean.shape[0]} train${test ? ` / ${test.clean.shape[0]} test` : ''} images ${train.clean.shape[1]}×${train.clean.shape[2]}, ε_H = ${pbOptions.huber}`);

const only = flags.only ? new Set(String(flags.only).split(',')) : undefined;

/** Each run's final θ evaluated with every ε_H of the sweep: train loss, train and test PSNR (huber.md / huber.csv). */
function huberSweep(records) {
  const rows = [];
  for (const r of records) {
    for (const huber of sweep) {
      // At the ε_H and tolerance it was trained and evaluated with, the run's own evaluation is this one.
      const own = r.huber === huber && r.tolerance === tolerance;
      const options = { ...pbOptions, huber };
      const tr = own ? r.train : piggybackPsnr(r.family, Float64Array.from(r.theta), train.noisy, train.clean, tolerance, options);
      const te = own ? r.test : test ? piggybackPsnr(r.family, Float64Array.from(r.theta), test.noisy, test.clean, tolerance, options) : undefined;
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

/** Runs of earlier results.json files, with the operator family each was trained on. */
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
  huberSweep(fromRuns);
  disposeData();
  process.exit(0);
}

function run(label, family, theta0, method) {
  const oracle = new PiggybackOracle(family, train.noisy, train.clean, pbOptions);
  const rows = [], thetas = [];
  const t0 = performance.now();
  const budget = { ...cfg.budget, ...(method.budget ?? {}) };
  const progress = new Progress(budget.maxIterations ?? 1000, budget.maxSeconds, process.stderr, label);
  const res = runPiggyback(oracle, theta0, method, {
    budget,
    onIteration: (r, theta) => {
      r.psnr = meanPsnr(oracle.current, train.clean);
      rows.push({ ...r });
      thetas.push(Array.from(theta));
      progress.update(r);
    },
  });
  progress.done();
  const wall = (performance.now() - t0) / 1000;
  const counters = { ...oracle.counters };
  oracle.dispose();
  const trainEval = piggybackPsnr(family, res.theta, train.noisy, train.clean, tolerance, pbOptions);
  const testEval = test ? piggybackPsnr(family, res.theta, test.noisy, test.clean, tolerance, pbOptions) : undefined;
  say(`  ${label}: ${res.stopReason} (${res.message}) after ${res.iterations} its, ${wall.toFixed(1)} s; loss ${trainEval.loss.toFixed(5)}, train ${trainEval.psnr.toFixed(2)} dB${testEval ? `, test ${testEval.psnr.toFixed(2)} dB` : ''}${res.theta.length <= 4 ? `; θ = (${Array.from(res.theta, (t) => t.toPrecision(9)).join(', ')})` : ''}`);
  return {
    label, family: family.kind, size: family.size, groups: family.groups, tapScale: family.tapScale, huber: pbOptions.huber, tolerance,
    parameters: family.parameterCount, theta0: Array.from(theta0), theta: Array.from(res.theta), result: res,
    rows, thetas, wall, counters, train: trainEval, test: testEval, accuracy: method.kind,
  };
}

const runs = [];
const theta0Std = Float64Array.from(cfg.standard?.theta0 ?? [Math.log(0.05)]);
const want = (l) => !only || only.has(l);
let stdAdaptive;
if (want('standard-adaptive') || want('learned-adaptive') || want('learned-fixed')) {
  stdAdaptive = run('standard-adaptive', standard, theta0Std, { kind: 'adaptive', options: cfg.adaptive });
  if (want('standard-adaptive')) runs.push(stdAdaptive);
}
if (want('standard-fixed')) runs.push(run('standard-fixed', standard, theta0Std, { kind: 'fixed', options: cfg.fixed }));
// The learned discretization starts from the learned standard TV (tapScale = its weight e^θ*, see initialLearnedTheta).
const weight = Math.exp((stdAdaptive?.theta ?? Array.from(theta0Std))[0]);
const learned = learnedFamily(weight);
const init = cfg.learned?.init ?? 'shifted';
const theta0Learned = learned.initialLearnedTheta(cfg.learned?.noise ?? 0.1, seed, cfg.learned?.share ?? 0.05, init);
if (want('learned-adaptive')) runs.push(run('learned-adaptive', learned, theta0Learned, { kind: 'adaptive', options: { ...cfg.adaptive, ...(cfg.learned?.adaptive ?? {}) } }));
if (want('learned-fixed')) runs.push(run('learned-fixed', learned, theta0Learned, { kind: 'fixed', options: { ...cfg.fixed, ...(cfg.learned?.fixed ?? {}) } }));

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
const huberRows = sweep ? huberSweep(runs.map((r) => ({ ...r, family: r.family === 'scaled' ? standard : learned }))) : undefined;
writeJson(join(out, 'results.json'), { name: cfg.name, backend, table, huberSweep: huberRows, runs: runs.map((r) => ({ ...r, result: { ...r.result, theta: Array.from(r.result.theta) } })) });
const series = (key) => runs.map((r) => ({ label: r.label, xs: r.rows.map(cost), ys: r.rows.map((q) => q[key]), dashed: r.accuracy === 'fixed' }));
writeFileSync(join(out, 'loss.svg'), svgLines(series('upperLoss'), { title: `${cfg.name ?? ''}: upper loss vs work`, xLabel: 'total PDHG + adjoint iterations', yLabel: 'upper loss (log scale)', logY: true }));
writeFileSync(join(out, 'psnr.svg'), svgLines(series('psnr'), { title: `${cfg.name ?? ''}: train PSNR vs work`, xLabel: 'total PDHG + adjoint iterations', yLabel: 'mean train PSNR (dB)' }));
disposeData();
say(`\n${md}\nwrote ${out}/table.md, table.csv, results.json, loss.svg, psnr.svg`);
