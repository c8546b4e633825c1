#!/usr/bin/env node
// tools/compare: runs several outer-optimizer configs on the same problem and seed, then writes one table
// (final upper loss, train/test PSNR, lower-level + CG iterations, wall seconds, losses at equal work) and one
// plot each of upper loss and PSNR against total lower-level + CG iterations.
//
//   npx tsc -b && node tools/compare/compare.mjs examples/compare-tv-kodak96.json --out runs/compare-tv [--force]
//        [--only label1,label2] [--backend wasm|cpu|webgpu] [--points 25] [--seed 3 | --seeds 0,1,2,3] [--lower-solver newton-cg]
//        [--count-probes] [--engine redis://host:port]
//   node tools/compare/compare.mjs --replot runs/compare-tv      (rewrites table and plots from results.json)
//
// Losses and PSNRs in the plot and in the "loss at N" columns are re-evaluated after the runs at the θ each
// method had reached, with the lower level solved to the common evaluation tolerance (not counted as work);
// the x axis counts only the work each optimizer spent itself. Stochastic methods count a batch iteration as
// |B|/n of a full one (their 'per-image' cost scaling), so all methods are charged per image processed.
// --seed N overrides the experiment seed (noise and initialisation); --seeds a,b,c runs the whole comparison once per
// seed (in <out>/seed-N/) and writes seeds.md / seeds.csv: every method's loss at each checkpoint in every seed, and in
// how many seeds it was below the reference method. --lower-solver NAME runs every method with that lower-level solver
// (default options) instead of the config's; the re-evaluation keeps the config's solver, so losses stay comparable
// with runs that used it. The "probes" column is the work (gradients and products) each method spent probing the constants
// of MAID's bound ω — not lower-level or CG iterations, so not on the papers' cost axis; --count-probes adds it to the
// work axis, the checkpoints and the work columns. Every method runs as one sweep job (runSweep, docs/sweeps.md): here,
// one after another, or with --engine URL (or BILEVEL_ENGINE) on that engine's `bilevel worker`s; the re-evaluation
// always runs here.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { meanPsnr, useBackend } from '@bilevel/core';
import { buildExperiment, DEFAULT_CONFIG, defaultRegistry, trainingOracle } from '@bilevel/experiment';
import { checkEngine, engineFrom, runSweep, sweepJob } from '@bilevel/distributed';
import { cost, csvTable, lastRowWithin, markdownTable, merge, parseArgs, parseSeeds, prepareOut, progressLine, seedSummary, subsample, svgLines, writeJson } from './lib.mjs';

/** Writes table.md, table.csv, loss.svg and psnr.svg (and results.json unless replotting) from the collected runs. */
function writeReport(out, report, { json = true } = {}) {
  const { cfg, backend, tolerance, checkpoints, seed, lowerSolver, countProbes, runs } = report;
  const axis = countProbes ? 'lower-level + CG iterations + probes' : 'lower-level + CG iterations';
  const workTitle = countProbes ? 'lower+CG+probes' : 'lower+CG';
  const table = runs.map((run) => {
    const r = run.result;
    const row = {
      method: run.label, optimizer: run.optimizer.name, stop: r.stopReason, iterations: r.iterations,
      upperLoss: r.upperLoss, trainPsnr: r.train.psnr.learned, testPsnr: r.test?.psnr.learned,
      lowerIterations: Math.round(r.lowerIterations), cgIterations: Math.round(r.cgIterations), work: Math.round(r.lowerIterations + r.cgIterations + (countProbes ? r.probeWork ?? 0 : 0)),
      probeWork: Math.round(r.probeWork ?? 0),
      wallSeconds: r.wallSeconds, theta: r.theta.length <= 4 ? `(${r.theta.map((t) => t.toFixed(3)).join(', ')})` : `${r.theta.length} params`,
    };
    const hit = run.rows.find((q) => (q.psnr ?? -Infinity) >= (cfg.psnrTarget ?? 27));
    row.workToTarget = hit ? Math.round(cost(hit)) : undefined;
    for (const c of checkpoints) {
      // The best re-evaluated loss among the iterates reached within work c (θ₀ counts at work 0).
      const within = run.curve.filter((p) => p.cost <= c);
      row[`loss@${c}`] = within.length ? Math.min(...within.map((p) => p.loss)) : undefined;
    }
    return row;
  });
  const columns = [
    { key: 'method', title: 'method', align: 'left' }, { key: 'stop', title: 'stop', align: 'left' }, { key: 'iterations', title: 'outer its' },
    { key: 'upperLoss', title: 'final upper loss', digits: 6 }, { key: 'trainPsnr', title: 'train PSNR', digits: 4 }, { key: 'testPsnr', title: 'test PSNR', digits: 4 },
    { key: 'lowerIterations', title: 'lower its' }, { key: 'cgIterations', title: 'CG its' }, { key: 'probeWork', title: 'probes' },
    { key: 'work', title: workTitle },
    { key: 'workToTarget', title: `${workTitle} to ${cfg.psnrTarget ?? 27} dB` },
    ...checkpoints.map((c) => ({ key: `loss@${c}`, title: `loss @${c}`, digits: 6 })),
    { key: 'wallSeconds', title: 'wall s', digits: 3 }, { key: 'theta', title: 'θ', align: 'left' },
  ];
  const md = `# ${cfg.name ?? 'comparison'}\n\n${cfg.description ?? ''}\n\nBackend ${backend}; same data, noise and seed (${seed}) for every method${lowerSolver ? `, lower-level solver ${lowerSolver} for every method (the re-evaluation uses the config's)` : ''}. ` +
    `Final loss and PSNRs: the runner's evaluation of the final θ. "${workTitle} to N dB": work at the first iteration whose train PSNR ` +
    `(of the optimizer's current lower-level iterate) reached N dB. "loss @W": lowest upper loss f(θ) among the iterates a method had reached within W ` +
    `${axis}, re-evaluated at lower-level tolerance ${tolerance}. Work of stochastic methods is counted per image (a batch iteration = |B|/n). ` +
    `"probes": gradients and products spent probing the constants of MAID's bound ω${countProbes ? ', counted in the work here' : ' (not counted as work; --count-probes counts them)'}.\n\n` +
    markdownTable(columns, table);
  writeFileSync(join(out, 'table.md'), md);
  writeFileSync(join(out, 'table.csv'), csvTable(columns, table));
  if (json) writeJson(join(out, 'results.json'), { ...report, table });
  report.table = table;
  // Plots against work on a log axis (θ₀, at work 0, sits on the axis minimum). The loss plot shows the suboptimality
  // f(θ) − f_best, f_best the lowest re-evaluated loss of any method (that point sits at 1e-6·f_best).
  const fBest = Math.min(...runs.flatMap((r) => r.curve.map((p) => p.loss)));
  const xMax = cfg.plotMaxWork ?? Math.max(...runs.map((r) => r.curve.at(-1).cost)) * 1.05;
  const series = (ys) => runs.map((r) => ({ label: r.label, xs: r.curve.map((p) => p.cost), ys: r.curve.map(ys), dashed: r.dashed }));
  writeFileSync(join(out, 'loss.svg'), svgLines(series((p) => p.loss - fBest + 1e-6 * fBest), {
    title: `${cfg.name ?? ''}: upper loss`, xLabel: `total ${axis} (log scale)`, yLabel: `f(θ) − ${fBest.toPrecision(6)} (log scale)`,
    logX: true, logY: true, xMin: 10, xMax, yMin: 1e-6 * fBest,
  }));
  const bestPsnr = Math.max(...runs.flatMap((r) => r.curve.map((p) => p.psnr)));
  writeFileSync(join(out, 'psnr.svg'), svgLines(series((p) => p.psnr), {
    title: `${cfg.name ?? ''}: train PSNR`, xLabel: `total ${axis} (log scale)`, yLabel: 'mean train PSNR (dB)',
    logX: true, xMin: 10, xMax, yMin: cfg.plotMinPsnr ?? Math.floor(bestPsnr - 3), yMax: Math.ceil(bestPsnr * 10 + 1) / 10,
  }));
  return md;
}

const { positional, flags } = parseArgs(process.argv.slice(2));
const say = (s) => process.stdout.write(s + '\n');
if (flags.replot) {
  const dir = resolve(String(flags.replot));
  const report = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8'));
  say(writeReport(dir, report, { json: false }));
  process.exit(0);
}
if (positional.length !== 1 || !flags.out) {
  console.error('usage: node tools/compare/compare.mjs <compare-config.json> --out <dir> [--force] [--only a,b] [--backend wasm] [--points 25] [--seed N | --seeds a,b,c] [--lower-solver NAME] [--count-probes] [--engine URL]\n       node tools/compare/compare.mjs --replot <dir>');
  process.exit(2);
}
let seeds;
try {
  if (flags.seed !== undefined && flags.seeds !== undefined) throw new Error('give either --seed N or --seeds a,b,c, not both');
  seeds = flags.seeds !== undefined ? parseSeeds(flags.seeds) : flags.seed !== undefined ? parseSeeds(flags.seed, 'seed') : undefined;
  if (flags.seed !== undefined && seeds.length !== 1) throw new Error(`--seed "${flags.seed}": give one non-negative integer (several: --seeds)`);
} catch (e) {
  console.error(e.message);
  process.exit(2);
}
const configPath = resolve(positional[0]);
const cfg = JSON.parse(readFileSync(configPath, 'utf8'));
const baseDir = dirname(configPath);
const basePath = typeof cfg.base === 'string' ? resolve(baseDir, cfg.base) : configPath;
const base = typeof cfg.base === 'string' ? JSON.parse(readFileSync(basePath, 'utf8')) : cfg.base;
const countProbes = Boolean(flags['count-probes']);
const lowerSolver = flags['lower-solver'] === undefined ? undefined : String(flags['lower-solver']);
const registry = await defaultRegistry(base.plugins ?? []);
if (lowerSolver !== undefined && !registry.names('lowerSolver').includes(lowerSolver)) {
  console.error(`--lower-solver "${lowerSolver}": unknown lower-level solver → use one of: ${registry.names('lowerSolver').join(', ')}`);
  process.exit(2);
}
let engine;
try {
  if (flags.engine === true) throw new Error('--engine needs a URL, e.g. --engine redis://127.0.0.1:6379');
  engine = engineFrom(flags.engine);
  if (engine) await checkEngine(engine);
} catch (e) {
  console.error(e.message);
  process.exit(2);
}
const out = resolve(flags.out);
prepareOut(out, Boolean(flags.force));
const backend = await useBackend(flags.backend ?? cfg.backend ?? base.backend ?? 'wasm');
const only = flags.only ? new Set(String(flags.only).split(',')) : undefined;
const methods = cfg.methods.filter((m) => !only || only.has(m.label));
const points = Number(flags.points ?? cfg.reevaluate?.points ?? 25);
const tolerance = cfg.reevaluate?.tolerance ?? base.evaluationTolerance ?? 1e-3;
say(`compare ${cfg.name ?? ''} on ${backend}: ${methods.map((m) => m.label).join(', ')}${engine ? ` (jobs on the engine at ${engine.display})` : ''}`);

/**
 * Runs every method with `seed` (undefined: the config's) as one sweep job each (runSweep: here, one after another, or on
 * the engine's workers with --engine), then rebuilds each experiment here for the re-evaluation.
 */
async function runMethods(seed) {
  const planned = methods.map((m) => {
    const raw = merge(merge(base, cfg.override ?? {}), { name: m.label, ...(m.budget ? { budget: m.budget } : {}), ...(seed !== undefined ? { seed } : {}) });
    raw.optimizer = structuredClone(m.optimizer); // replaced, not merged
    // --lower-solver's solver (default options) for the run; the config's for the re-evaluation.
    const chosen = raw.lowerSolver ?? DEFAULT_CONFIG.lowerSolver;
    const configured = typeof chosen === 'string' ? { name: chosen } : chosen; // a plugin choice may be its bare name
    if (lowerSolver) raw.lowerSolver = { name: lowerSolver };
    raw.backend = backend; // every method on this backend, here or on the workers
    const job = sweepJob({ label: m.label, config: raw, baseDir: dirname(basePath), keepThetas: true, checkpointEvery: engine ? 5 : 0 });
    return { m, configured, job };
  });
  const lines = new Map(); // a method's progress line starts its clock at the method's first iteration
  const { results, failed } = await runSweep(planned.map((p) => p.job), {
    engine,
    onEvent: (e) => {
      if (e.type === 'progress') {
        if (!lines.has(e.job.id)) lines.set(e.job.id, progressLine(e.job.label));
        lines.get(e.job.id)(e.record);
      }
      if (e.type !== 'done' && e.type !== 'skipped') return;
      const r = e.result;
      say(`  ${e.job.label}: ${e.type === 'skipped' ? 'finished before: ' : ''}${r.stopReason} (${r.message}) after ${r.iterations} its, ${r.wallSeconds.toFixed(1)} s; loss ${r.upperLoss.toFixed(5)}, train ${r.train.psnr.learned.toFixed(2)} dB${r.test ? `, test ${r.test.psnr.learned.toFixed(2)} dB` : ''}`);
    },
  });
  if (failed.length) throw new Error(`methods failed: ${failed.map((f) => `${f.job.label}: ${f.error}`).join('; ')}`);
  const runs = [];
  for (const [i, { m, configured, job }] of planned.entries()) {
    const { id: _id, label: _label, seed: _seed, regularizer: _reg, rows, thetas, resumedFrom: _from, ...result } = results[i];
    const experiment = await buildExperiment(job.config, { baseDir: job.baseDir });
    const spec = await experiment.spec();
    const evaluationSolver = lowerSolver
      ? registry.create('lowerSolver', configured.name, configured.options ?? {}, { imageShape: spec.train.clean.shape.slice(1, 3), seed: spec.seed }, 'lowerSolver.options')
      : spec.lowerSolver;
    const logged = rows.map((r) => ({ ...r, ...(countProbes ? { probeCost: r.probeWork ?? 0 } : {}) }));
    runs.push({ label: m.label, optimizer: m.optimizer, dashed: m.dashed, experiment, spec, evaluationSolver, rows: logged, thetas, result });
  }
  return runs;
}

/**
 * Runs every method on the experiment with `seed` (undefined: the config's), re-evaluates, writes the report to `dir`.
 * `fixedCheckpoints` (the first seed's, with --seeds) replaces checkpoints derived from the reference's work.
 */
async function compareOnce(seed, dir, fixedCheckpoints) {
  const runs = await runMethods(seed);

  // Work checkpoints for the equal-work columns: given, or fractions of the reference method's total work.
  const reference = runs.find((r) => r.label === (cfg.reference ?? runs[0].label)) ?? runs[0];
  const refCost = reference.result.lowerIterations + reference.result.cgIterations + (countProbes ? reference.result.probeWork : 0);
  const checkpoints = fixedCheckpoints ?? (cfg.checkpoints ?? [0.25, 0.5, 1].map((f) => Math.round(f * refCost))).filter((c) => c > 0);

  /** Re-evaluates f and train PSNR at θ₀ and at a subsample of a run's iterates (warm-started, tolerance `tolerance`; not counted as work). */
  async function reevaluate(run) {
    const { spec } = run;
    const oracle = trainingOracle(spec, run.evaluationSolver);
    const at = async (theta) => {
      const ev = await oracle.evaluate(Float64Array.from(theta), tolerance);
      const x = await oracle.reconstruction(ev);
      const psnr = await meanPsnr(x, spec.train.clean);
      x.dispose();
      await oracle.accept(ev);
      oracle.release(ev);
      return { loss: ev.value, psnr };
    };
    const forced = checkpoints.map((c) => lastRowWithin(run.rows, c));
    const curve = [{ cost: 0, iter: 0, ...(await at(Array.from(spec.theta0))) }];
    for (const i of subsample(run.rows, points, forced)) curve.push({ cost: cost(run.rows[i]), iter: run.rows[i].iter, ...(await at(run.thetas[i])) });
    await oracle.dispose();
    return curve;
  }

  for (const run of runs) {
    const t0 = performance.now();
    run.curve = await reevaluate(run);
    say(`  re-evaluated ${run.label} at ${run.curve.length} points in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    await run.experiment.dispose();
    delete run.experiment;
    delete run.spec;
    delete run.evaluationSolver;
  }
  const seedUsed = seed ?? merge(base, cfg.override ?? {}).seed ?? 0;
  const report = { cfg, backend, tolerance, checkpoints, seed: seedUsed, lowerSolver, countProbes, runs };
  const md = writeReport(dir, report);
  say(`\n${md}\nwrote ${dir}/table.md, table.csv, results.json, loss.svg, psnr.svg`);
  return report;
}

if (seeds === undefined || flags.seed !== undefined) {
  await compareOnce(seeds?.[0], out);
} else {
  const perSeed = [];
  for (const seed of seeds) {
    const dir = join(out, `seed-${seed}`);
    prepareOut(dir, false);
    const report = await compareOnce(seed, dir, perSeed[0]?.checkpoints);
    perSeed.push({ seed, table: report.table, checkpoints: report.checkpoints });
  }
  const reference = cfg.reference ?? methods[0].label;
  const rows = seedSummary(perSeed, perSeed[0].checkpoints, reference);
  const columns = [
    { key: 'checkpoint', title: 'work' }, { key: 'method', title: 'method', align: 'left' },
    ...seeds.map((sd) => ({ key: `seed${sd}`, title: `seed ${sd}`, digits: 6 })),
    { key: 'mean', title: 'mean', digits: 6 }, { key: 'belowReference', title: `below ${reference}`, align: 'left' },
  ];
  const md = `# ${cfg.name ?? 'comparison'}: ${seeds.length} seeds\n\nBest re-evaluated upper loss within each work checkpoint (as "loss @W" in each seed's table.md), ` +
    `per seed (noise and initialisation), and in how many seeds a method was below ${reference}.` +
    `${lowerSolver ? ` Lower-level solver ${lowerSolver} for every method (the re-evaluation uses the config's).` : ''}` +
    `${countProbes ? ' Work includes the probes of ω\'s constants (--count-probes).' : ''}\n\n${markdownTable(columns, rows)}`;
  writeFileSync(join(out, 'seeds.md'), md);
  writeFileSync(join(out, 'seeds.csv'), csvTable(columns, rows));
  say(`\n${md}\nwrote ${out}/seeds.md, seeds.csv and seed-N/ for each seed`);
}
