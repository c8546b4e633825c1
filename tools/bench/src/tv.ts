import { appendFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LowerLevelProblem, tf, type ImageBatch } from '@bilevel/core';
import { addGaussianNoise, loadImages, toBatch } from '@bilevel/datasets';
import { buildExperiment, runExperiment, saveCheckpoint, type ExperimentResult, type RunHooks } from '@bilevel/experiment';
import { IdentityOperator, L2Fidelity } from '@bilevel/operators';
import { HypergradientOracle } from '@bilevel/oracles';
import { AnisotropicTV } from '@bilevel/regularizers-tv';
import { ConjugateGradient, Fista } from '@bilevel/solvers';
import { measure, skipped, type BenchRecord } from './harness.js';

const KODAK = join(process.env.BILEVEL_DATA_MIRROR ?? join(process.cwd(), '../shared/data'), 'Kodak24-96'); // a local mirror (docs/datasets.md)

/** ∇ₓh of the MAID-reference TV problem at 24×96×96 (random images). */
export async function benchTvGradient(): Promise<BenchRecord[]> {
  const x = tf.randomUniform([24, 96, 96, 1], 0, 1, 'float32', 1) as ImageBatch;
  const y = tf.randomUniform([24, 96, 96, 1], 0, 1, 'float32', 2) as ImageBatch;
  const problem = new LowerLevelProblem(new IdentityOperator([96, 96]), new L2Fidelity(), new AnisotropicTV(), y, 0);
  const theta = tf.tensor1d([-2, -5]);
  const v = tf.randomNormal([24, 96, 96, 1], 0, 1, 'float32', 3) as ImageBatch;
  const out = [
    await measure('tv.gradX.24x96x96', () => problem.gradX(x, theta), { runs: 51 }),
    await measure('tv.hvpX.24x96x96', () => problem.hvpX(x, theta, v), { runs: 51 }),
  ];
  tf.dispose([x, y, theta, v]);
  return out;
}

/** One full hypergradient on Kodak96 (σ = 0.1) at θ = (−3, −5): lower solve from the noisy images to ε = 1e-2, CG to δ = 1e-2, mixed product. */
export async function benchTvHypergradient(): Promise<BenchRecord[]> {
  if (!existsSync(KODAK)) return [skipped('hypergrad.tv-kodak96', `${KODAK} not found`)];
  const clean = toBatch(loadImages({ source: 'folder', path: KODAK }));
  const noisy = (await addGaussianNoise(clean, { type: 'gaussian', sigma: 0.1 }, 0)) as ImageBatch;
  const problem = new LowerLevelProblem(new IdentityOperator([96, 96]), new L2Fidelity(), new AnisotropicTV(), noisy, 0);
  let stats = {};
  const r = await measure('hypergrad.tv-kodak96', async () => {
    const oracle = new HypergradientOracle(problem, clean, new Fista(), new ConjugateGradient(), noisy);
    const hg = await oracle.hypergradient(Float64Array.from([-3, -5]), 1e-2, 1e-2);
    stats = { lowerIterations: hg.stats.lowerIterations, cgIterations: hg.stats.cgIterations };
    oracle.release(hg.evaluation);
    await oracle.dispose();
  }, { runs: 5, warmup: 1 });
  tf.dispose([clean, noisy]);
  return [{ ...r, ...stats }];
}

/** The Kodak96 TV experiment of the e2e figures (examples/tv-denoising-kodak96.json without its test split). */
const kodakTv = (budget: Record<string, number>) => ({
  data: { train: { source: 'folder', path: KODAK }, noise: { sigma: 0.1 } },
  regularizer: { name: 'tv', theta0: [-5, -5] }, optimizer: 'maid', budget,
});

/** Builds one experiment, then times its run (hooks get the start time); frees its data and images. */
async function runOnce(config: unknown, hooks: (t0: number) => RunHooks): Promise<{ ms: number; result: ExperimentResult }> {
  const experiment = await buildExperiment(config);
  await experiment.spec();
  const t0 = performance.now();
  const result = await runExperiment(experiment, hooks(t0));
  const ms = performance.now() - t0;
  await experiment.dispose();
  tf.dispose([result.images.train.input, result.images.train.learned]);
  return { ms, result };
}

/** Wall time of examples/tv-denoising-kodak96.json (MAID) until the mean train PSNR first reaches 27.6 dB. */
export async function benchTvEndToEnd(): Promise<BenchRecord[]> {
  const name = 'e2e.tv-kodak96.to27.6dB';
  if (!existsSync(KODAK)) return [skipped(name, `${KODAK} not found`)];
  const times: number[] = [];
  let final: Record<string, unknown> = {};
  for (let k = 0; k < 3; k++) {
    let reached = NaN;
    const { result } = await runOnce(kodakTv({ maxIterations: 500, maxSeconds: 120 }), (t0) => ({ onIteration: (r) => { if (Number.isNaN(reached) && (r.psnr ?? 0) >= 27.6) reached = performance.now() - t0; } }));
    times.push(reached);
    final = { finalPsnr: +result.train.psnr.learned.toFixed(3), stopReason: result.stopReason, totalSeconds: +result.wallSeconds.toFixed(2), outerIterations: result.iterations };
  }
  times.sort((a, b) => a - b);
  return [{ name, backend: tf.getBackend(), medianMs: +times[1].toFixed(1), runs: 3, minMs: +times[0].toFixed(1), maxMs: +times[2].toFixed(1), ...final }];
}

/** Wall-time overhead of iterations.jsonl logging + checkpointing (every 5 iterations) on the Kodak96 MAID run. */
export async function benchLoggingOverhead(): Promise<BenchRecord[]> {
  const name = 'overhead.log-checkpoint.tv-kodak96';
  if (!existsSync(KODAK)) return [skipped(name, `${KODAK} not found`)];
  const dir = mkdtempSync(join(tmpdir(), 'bilevel-bench-'));
  const log = join(dir, 'iterations.jsonl');
  const once = async (instrumented: boolean) => {
    writeFileSync(log, '');
    const { ms, result } = await runOnce(kodakTv({ maxIterations: 500 }), () => (instrumented ? {
      onIteration: (r) => appendFileSync(log, JSON.stringify(r) + '\n'),
      checkpointEvery: 5,
      onCheckpoint: (c) => saveCheckpoint(dir, c),
    } : {}));
    return { ms, iterations: result.iterations };
  };
  const plain: number[] = [], logged: number[] = [];
  let iterations = 0;
  for (let k = 0; k < 3; k++) {
    plain.push((await once(false)).ms);
    const r = await once(true);
    logged.push(r.ms);
    iterations = r.iterations;
  }
  const med = (a: number[]) => a.sort((x, y) => x - y)[1];
  rmSync(dir, { recursive: true, force: true });
  return [{ name, backend: tf.getBackend(), medianMs: +med(logged).toFixed(1), runs: 3, plainMedianMs: +med(plain).toFixed(1), overheadPercent: +((100 * (med(logged) - med(plain))) / med(plain)).toFixed(2), outerIterations: iterations }];
}
