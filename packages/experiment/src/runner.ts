import {
  meanPsnr, meanSsim, MeanSquaredUpperLoss, readScalars, runOptimizer, TOKENS, tf,
  type ImageBatch, type IterationRecord, type LowerSolver, type Oracle, type OuterOptimizer, type RunCheckpoint, type StopReason,
} from '@bilevel/core';
import type { HypergradientOracle } from '@bilevel/oracles';
import { inProcessOracle } from './oracles.js';
import type { Experiment, ExperimentSpec, ImagePairs } from './spec.js';

export interface QualityPair {
  input: number;
  learned: number;
}
export interface SplitMetrics {
  psnr: QualityPair;
  ssim: QualityPair;
}

export interface ExperimentResult {
  theta: number[];
  stopReason: StopReason;
  message: string;
  iterations: number;
  upperLoss: number;
  lowerIterations: number;
  cgIterations: number;
  /** Gradients and products spent probing ω's constants (OracleCounters.probeWork). */
  probeWork: number;
  /** Device→host reads of the training oracle's work (OracleCounters.hostReads), where it counts them. */
  hostReads?: number;
  wallSeconds: number;
  train: SplitMetrics;
  test?: SplitMetrics;
  /** Learned reconstructions and naive reconstructions (caller disposes). */
  images: { train: { input: ImageBatch; learned: ImageBatch }; test?: { input: ImageBatch; learned: ImageBatch } };
}

export interface RunHooks {
  onIteration?(record: IterationRecord, theta: Float64Array): void | Promise<void>;
  shouldStop?(): boolean;
  /** Write a checkpoint every this many outer iterations (and when interrupted); 0 = never. */
  checkpointEvery?: number;
  onCheckpoint?(checkpoint: RunCheckpoint): void | Promise<void>;
  /** Continue from this checkpoint instead of θ₀. */
  resume?: RunCheckpoint;
  /** Evaluate test PSNR/SSIM at the current θ every this many iterations (0 = never; costs a test solve). */
  testEvery?: number;
}

/**
 * A fresh in-process oracle on the training split, warm-started at the naive reconstruction, with the spec's solvers
 * (or `lowerSolver` in place of the spec's).
 */
export function trainingOracle(spec: ExperimentSpec, lowerSolver: LowerSolver = spec.lowerSolver): HypergradientOracle {
  return inProcessOracle(spec, spec.train, spec.seed, lowerSolver);
}

/** Solves the split's lower level at θ to the evaluation tolerance and reports PSNR/SSIM against the naive reconstruction. */
export async function evaluateSplit(spec: ExperimentSpec, pairs: ImagePairs, theta: Float64Array, x0?: ImageBatch) {
  const solved = await spec.evaluator.solve(pairs, theta, spec.evaluationTolerance ?? 1e-3, x0);
  const input = spec.operator.naiveReconstruction(pairs.measurement);
  const metrics: SplitMetrics = {
    psnr: { input: await meanPsnr(input, pairs.clean), learned: await meanPsnr(solved.x, pairs.clean) },
    ssim: { input: await meanSsim(input, pairs.clean), learned: await meanSsim(solved.x, pairs.clean) },
  };
  return { metrics, input, learned: solved.x, iterations: solved.iterations };
}

/** Adds train PSNR/SSIM at the accepted x̃ (and test ones every `testEvery`) to an iteration's record. */
async function withMetrics(spec: ExperimentSpec, oracle: Oracle, hooks: RunHooks, record: IterationRecord, theta: Float64Array): Promise<void> {
  // Cumulative, like lowerIterations (the metrics' own reads below are not the oracle's).
  if (oracle.counters.hostReads !== undefined) record.hostReads = oracle.counters.hostReads;
  const x = await oracle.reconstruction();
  record.psnr = await meanPsnr(x, spec.train.clean);
  record.ssim = await meanSsim(x, spec.train.clean);
  x.dispose();
  const testEvery = hooks.testEvery ?? 0;
  if (spec.test && testEvery > 0 && record.iter % testEvery === 0) {
    const t = await evaluateSplit(spec, spec.test, theta);
    record.testPsnr = t.metrics.psnr.learned;
    record.testSsim = t.metrics.ssim.learned;
    tf.dispose([t.input, t.learned]);
  }
  await hooks.onIteration?.(record, theta);
}

/** g(x̃) = (1/n) Σ ½‖x̃ᵢ − xᵢ*‖² of the final train reconstruction. */
async function upperLoss(train: ImagePairs, x: ImageBatch): Promise<number> {
  const [v] = await readScalars(new MeanSquaredUpperLoss(train.clean).value(x));
  return v;
}

/**
 * Runs an experiment: resolves its parts and a fresh oracle from the container (TOKENS.*), runs the optimizer on core's
 * driver (budgets, onIteration with train PSNR/SSIM, checkpoints, resume), then evaluates θ on train and test.
 */
export async function runExperiment(experiment: Experiment, hooks: RunHooks = {}): Promise<ExperimentResult> {
  const t0 = performance.now();
  const spec = await experiment.spec();
  const oracle = await experiment.container.getAsync<Oracle>(TOKENS.oracle);
  const optimizer = spec.optimizer as OuterOptimizer<unknown>;
  let result;
  let train;
  let counters;
  try {
    result = await runOptimizer(optimizer, oracle, spec.theta0, {
      budget: spec.budget, shouldStop: hooks.shouldStop, checkpointEvery: hooks.checkpointEvery, onCheckpoint: hooks.onCheckpoint, resume: hooks.resume,
      onIteration: (record, theta) => withMetrics(spec, oracle, hooks, record, theta),
    });
    const accepted = await oracle.reconstruction();
    train = await evaluateSplit(spec, spec.train, result.theta, accepted);
    accepted.dispose();
    counters = { ...oracle.counters };
  } finally {
    await oracle.dispose();
  }
  const upper = await upperLoss(spec.train, train.learned);
  const test = spec.test ? await evaluateSplit(spec, spec.test, result.theta) : undefined;
  return {
    theta: Array.from(result.theta), stopReason: result.stopReason, message: result.message, iterations: result.iterations,
    upperLoss: upper, lowerIterations: counters.lowerIterations, cgIterations: counters.cgIterations, probeWork: counters.probeWork,
    ...(counters.hostReads !== undefined ? { hostReads: counters.hostReads } : {}),
    // Over all segments of the run: a resumed run adds the seconds of its checkpoint.
    wallSeconds: (hooks.resume?.seconds ?? 0) + (performance.now() - t0) / 1000,
    train: train.metrics, test: test?.metrics,
    images: { train: { input: train.input, learned: train.learned }, test: test ? { input: test.input, learned: test.learned } : undefined },
  };
}
