#!/usr/bin/env node
// tools/compare/agreement: the demo config (DEFAULT_CONFIG, without its 60 s time budget, so both runs end at MAID's
// own stop) on two backends, one child process each, then one JSON line: both θ, the max relative difference
// max_i |θ_a,i − θ_b,i| / max(|θ_a,i|, |θ_b,i|), both test PSNRs and their difference, and where the trajectories
// first part (iterations.jsonl rows compared iteration by iteration). The bar (issue 21): θ within 1e-3 relative,
// test PSNR within 0.05 dB.
//
//   npx tsc -b && node tools/compare/agreement.mjs [--out runs/agreement] [--backends wasm,webgpu] [--max-iterations 200]
//        [--config some.json]   (default: the embedded demo; budget.maxSeconds is dropped)
//        [--reuse]              (compare the runs already in --out without running them again)
//
// Each run writes <out>/<backend>/iterations.jsonl (θ and the log row per outer iteration) and result.json.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from './lib.mjs';

const THETA_BAR = 1e-3, PSNR_BAR = 0.05;
const { flags } = parseArgs(process.argv.slice(2));
const out = resolve(String(flags.out ?? 'runs/agreement'));

/** max_i |a_i − b_i| / max(|a_i|, |b_i|, 1e-12). */
const relativeDifference = (a, b) => Math.max(...a.map((v, i) => Math.abs(v - b[i]) / Math.max(Math.abs(v), Math.abs(b[i]), 1e-12)));

function demoConfig() {
  return import('@bilevel/experiment').then(({ DEFAULT_CONFIG }) => {
    const raw = flags.config ? JSON.parse(readFileSync(resolve(String(flags.config)), 'utf8')) : structuredClone(DEFAULT_CONFIG);
    const budget = { ...(raw.budget ?? {}) };
    delete budget.maxSeconds;
    if (flags['max-iterations']) budget.maxIterations = Number(flags['max-iterations']);
    return { ...raw, budget };
  });
}

/** Child: one run on `backend`, logging θ per iteration. */
async function runOne(backend) {
  const { useBackend, tf } = await import('@bilevel/core');
  const { buildExperiment, runExperiment } = await import('@bilevel/experiment');
  const active = await useBackend(backend);
  const dir = join(out, active);
  mkdirSync(dir, { recursive: true });
  const raw = await demoConfig();
  const rows = [];
  const experiment = await buildExperiment(raw, { baseDir: flags.config ? resolve(String(flags.config), '..') : process.cwd() });
  const result = await runExperiment(experiment, {
    onIteration: (r, theta) => {
      rows.push(JSON.stringify({ ...r, theta: Array.from(theta) }));
      if (r.iter % 10 === 0) process.stderr.write(`  ${active}: iteration ${r.iter}, ${r.seconds.toFixed(0)} s\n`);
    },
  });
  const images = result.images;
  tf.dispose([images.train.input, images.train.learned, ...(images.test ? [images.test.input, images.test.learned] : [])]);
  await experiment.dispose();
  writeFileSync(join(dir, 'iterations.jsonl'), rows.join('\n') + '\n');
  writeFileSync(join(dir, 'result.json'), JSON.stringify({ ...result, images: undefined, backend: active }, null, 1));
}

function child(backend) {
  return new Promise((done, fail) => {
    const p = spawn(process.execPath, [fileURLToPath(import.meta.url), '--one', backend, ...process.argv.slice(2)], { stdio: ['ignore', 'inherit', 'inherit'] });
    p.on('exit', (code) => (code === 0 ? done() : fail(new Error(`the ${backend} run exited with ${code}`))));
  });
}

/**
 * Trajectories compared row by row: the first iteration whose backtracking count (MAID's discrete accept/reject
 * decisions) differs, the first whose θ differs beyond the bar, and the largest θ and ε differences along the way.
 */
function trajectories(a, b) {
  const n = Math.min(a.length, b.length);
  const out = { rows: [a.length, b.length], firstDecisionDifference: null, firstThetaBeyondBar: null, maxThetaRelativeDifference: 0, maxEpsilonRelativeDifference: 0 };
  for (let i = 0; i < n; i++) {
    const d = relativeDifference(a[i].theta, b[i].theta);
    if (d > out.maxThetaRelativeDifference) Object.assign(out, { maxThetaRelativeDifference: d, maxThetaAt: a[i].iter });
    out.maxEpsilonRelativeDifference = Math.max(out.maxEpsilonRelativeDifference, relativeDifference([a[i].epsilon], [b[i].epsilon]));
    if (out.firstThetaBeyondBar === null && d > THETA_BAR) out.firstThetaBeyondBar = a[i].iter;
    if (out.firstDecisionDifference === null && a[i].backtracks !== b[i].backtracks) out.firstDecisionDifference = { iter: a[i].iter, backtracks: [a[i].backtracks, b[i].backtracks] };
  }
  return out;
}

async function compare(backends) {
  if (!flags.reuse) for (const b of backends) await child(b);
  const read = (b) => ({
    result: JSON.parse(readFileSync(join(out, b, 'result.json'), 'utf8')),
    rows: readFileSync(join(out, b, 'iterations.jsonl'), 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)),
  });
  const [a, b] = backends.map(read);
  const thetaRel = relativeDifference(a.result.theta, b.result.theta);
  const psnr = [a.result.test?.psnr.learned, b.result.test?.psnr.learned];
  const report = {
    backends,
    theta: [a.result.theta, b.result.theta], thetaMaxRelativeDifference: thetaRel,
    testPsnr: psnr, testPsnrDifference: Math.abs(psnr[0] - psnr[1]),
    iterations: [a.result.iterations, b.result.iterations], stop: [a.result.stopReason, b.result.stopReason],
    wallSeconds: [a.result.wallSeconds, b.result.wallSeconds],
    trajectories: trajectories(a.rows, b.rows),
    bar: { theta: THETA_BAR, psnrDb: PSNR_BAR }, passed: thetaRel <= THETA_BAR && Math.abs(psnr[0] - psnr[1]) <= PSNR_BAR,
  };
  writeFileSync(join(out, 'agreement.json'), JSON.stringify(report, null, 1));
  process.stdout.write(JSON.stringify(report) + '\n');
  if (!report.passed) process.exitCode = 1;
}

if (flags.one) await runOne(String(flags.one));
else await compare(String(flags.backends ?? 'wasm,webgpu').split(','));
