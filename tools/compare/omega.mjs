#!/usr/bin/env node
// tools/compare/omega.mjs: checks MAID's a-posteriori hypergradient bound ω (and the adjoint-corrected value bound)
// against the measured errors on a config's training set at one θ. A reference z, f is computed at a tight accuracy;
// then, for each accuracy a, a fresh oracle (no running maxima from other θ) computes z at ε = δ = a and reports
// ‖z − z_ref‖ against ω, and |f_ref − (g(x̃) − ⟨q̃, ∇ₓh(x̃)⟩)| against its bound. Exits 1 if a bound fails.
//
//   npx tsc -b && node tools/compare/omega.mjs examples/tv-denoising-kodak96.json [--theta -2.09,-4.99] \
//        [--accuracies 0.3,0.1,0.03,0.01,0.003,0.001] [--reference 1e-5] [--backend wasm|cpu|webgpu]
//
// Prints one JSON line per accuracy and a final summary line (the smallest ω / error ratio).
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { useBackend } from '@bilevel/core';
import { buildExperiment, trainingOracle } from '@bilevel/experiment';
import { parseArgs } from './lib.mjs';

/** "a,b,c" → finite numbers (each > 0 when `positive`), or an error naming the flag. */
export function parseList(text, flag, positive) {
  const values = String(text).split(',').map(Number);
  if (values.length === 0 || !values.every((v) => Number.isFinite(v) && (!positive || v > 0))) {
    throw new Error(`--${flag} "${text}" must be a comma-separated list of ${positive ? 'positive ' : ''}numbers`);
  }
  return values;
}

async function main() {
  const { positional, flags } = parseArgs(process.argv.slice(2));
  if (positional.length !== 1) {
    console.error('usage: node tools/compare/omega.mjs CONFIG.json [--theta a,b,…] [--accuracies 0.1,0.01,0.001] [--reference 1e-5] [--backend NAME]');
    process.exit(2);
  }
  const accuracies = parseList(flags.accuracies ?? '0.3,0.1,0.03,0.01,0.003,0.001', 'accuracies', true);
  const [reference] = parseList(flags.reference ?? '1e-5', 'reference', true);
  const file = resolve(positional[0]);
  const raw = JSON.parse(readFileSync(file, 'utf8'));
  await useBackend(flags.backend ?? raw.backend);
  const experiment = await buildExperiment(raw, { baseDir: dirname(file) });
  const spec = await experiment.spec();
  const theta = Float64Array.from(flags.theta ? parseList(flags.theta, 'theta', false) : spec.theta0);
  if (theta.length !== spec.theta0.length) throw new Error(`--theta has ${theta.length} entries but θ has ${spec.theta0.length}`);
  const oracle = () => trainingOracle(spec);

  const exact = oracle();
  const ref = await exact.hypergradient(theta, reference, reference / 10);
  exact.release(ref.evaluation);
  await exact.dispose();
  let worst = Infinity;
  for (const a of accuracies) {
    const o = oracle();
    const hg = await o.hypergradient(theta, a, a, undefined, { valueEstimate: true });
    const error = Math.hypot(...Array.from(hg.grad, (g, i) => g - ref.grad[i]));
    const valueError = Math.abs(hg.valueEstimate.value - ref.value);
    worst = Math.min(worst, hg.errorBound / error, hg.valueEstimate.bound / valueError);
    console.log(JSON.stringify({
      accuracy: a, certifiedError: hg.evaluation.lower.certifiedError, cgResidual: hg.stats.cgResidual, zNorm: Math.hypot(...hg.grad),
      error, omega: hg.errorBound, valueError, valueBound: hg.valueEstimate.bound, jacobianNorm: hg.stats.jacobianNorm,
    }));
    o.release(hg.evaluation);
    await o.dispose();
  }
  await experiment.dispose();
  console.log(JSON.stringify({ config: positional[0], theta: Array.from(theta), reference: { accuracy: reference, value: ref.value, z: Array.from(ref.grad), omega: ref.errorBound }, smallestBoundToErrorRatio: worst }));
  if (!(worst >= 1)) {
    console.error(`omega: a bound is below its measured error (smallest ratio ${worst.toExponential(2)}; the reference itself is only accurate to its ω ${ref.errorBound.toExponential(2)})`);
    process.exit(1);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e) => {
    console.error(`omega: ${e.message}`);
    process.exit(2);
  });
}
