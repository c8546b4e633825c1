import type { DataFidelity } from '../contracts/fidelity.js';
import type { ForwardOperator } from '../contracts/operator.js';
import type { Budget, IterationRecord, OuterOptimizer, StopReason } from '../contracts/optimizer.js';
import type { Regularizer } from '../contracts/regularizer.js';
import type { LinearSolver, LowerSolver } from '../contracts/solvers.js';
import { HypergradientOracle, type OracleState } from '../hypergradient/oracle.js';
import type { Oracle } from '../hypergradient/oracle-api.js';
import { BilevelError } from '../errors.js';
import { meanPsnr, meanSsim } from '../metrics.js';
import { LowerLevelProblem } from '../problem.js';
import { tf, type ImageBatch, type Tensor } from '../tensor.js';

/** Ground truth and measurements of one split. */
export interface ImagePairs {
  readonly clean: ImageBatch;
  readonly measurement: Tensor;
}

/** Everything a run needs, as instances (compose one from a config with `composeExperiment`). */
export interface ExperimentSpec {
  operator: ForwardOperator;
  fidelity: DataFidelity;
  regularizer: Regularizer;
  lowerSolver: LowerSolver;
  linearSolver: LinearSolver;
  optimizer: OuterOptimizer;
  /** Weight of γ/2‖x‖² in h (needed when AᵀA is singular and R is not strongly convex). */
  gamma: number;
  theta0: Float64Array;
  train: ImagePairs;
  test?: ImagePairs;
  budget: Budget;
  seed: number;
  /** Lower-level accuracy ε used for the final evaluation of θ. */
  evaluationTolerance?: number;
  /** An oracle over the training split to use instead of the in-process one (e.g. sharded over workers). */
  oracle?: Oracle;
}

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
  wallSeconds: number;
  train: SplitMetrics;
  test?: SplitMetrics;
  /** Learned reconstructions and naive reconstructions (caller disposes). */
  images: { train: { input: ImageBatch; learned: ImageBatch }; test?: { input: ImageBatch; learned: ImageBatch } };
}

/** Everything needed to continue a run bit-for-bit: optimizer state, oracle warm starts, log position. */
export interface RunCheckpoint {
  iterations: number;
  optimizer: unknown;
  oracle: OracleState;
}

export interface RunHooks {
  onIteration?(record: IterationRecord, theta: Float64Array): void;
  shouldStop?(): boolean;
  /** Write a checkpoint every this many outer iterations (and when interrupted); 0 = never. */
  checkpointEvery?: number;
  onCheckpoint?(checkpoint: RunCheckpoint): void;
  /** Continue from this checkpoint instead of θ₀. */
  resume?: RunCheckpoint;
  /** Evaluate test PSNR/SSIM at the current θ every this many iterations (0 = never; costs a test solve). */
  testEvery?: number;
}

function problemFor(spec: ExperimentSpec, pairs: ImagePairs): LowerLevelProblem {
  return new LowerLevelProblem(spec.operator, spec.fidelity, spec.regularizer, pairs.measurement, spec.gamma);
}

/**
 * A fresh in-process oracle on the training split, warm-started at the naive reconstruction, with the spec's solvers
 * (or `lowerSolver` in place of the spec's).
 */
export function trainingOracle(spec: ExperimentSpec, lowerSolver: LowerSolver = spec.lowerSolver): HypergradientOracle {
  const x0 = spec.operator.naiveReconstruction(spec.train.measurement);
  const oracle = new HypergradientOracle(problemFor(spec, spec.train), spec.train.clean, lowerSolver, spec.linearSolver, x0, spec.seed);
  x0.dispose();
  return oracle;
}

/** Solves the lower level at θ to the evaluation tolerance and reports PSNR/SSIM against the naive reconstruction. */
export function evaluateSplit(spec: ExperimentSpec, pairs: ImagePairs, theta: Float64Array, x0?: ImageBatch) {
  const problem = problemFor(spec, pairs);
  const thetaT = tf.tensor1d(Float32Array.from(theta));
  const start = x0 ?? spec.operator.naiveReconstruction(pairs.measurement);
  const tol = spec.evaluationTolerance ?? 1e-3;
  const solved = spec.lowerSolver.solve(problem, thetaT, start, tol);
  thetaT.dispose();
  if (!x0) start.dispose();
  const input = spec.operator.naiveReconstruction(pairs.measurement);
  const metrics: SplitMetrics = {
    psnr: { input: meanPsnr(input, pairs.clean), learned: meanPsnr(solved.x, pairs.clean) },
    ssim: { input: meanSsim(input, pairs.clean), learned: meanSsim(solved.x, pairs.clean) },
  };
  return { metrics, input, learned: solved.x, iterations: solved.iterations };
}

/** Runs the outer optimizer on the training split, then evaluates θ on train and test. */
export function runExperiment(spec: ExperimentSpec, hooks: RunHooks = {}): ExperimentResult {
  const t0 = performance.now();
  const oracle = spec.oracle ?? trainingOracle(spec);
  const opt = spec.optimizer;
  const resumable = Boolean(opt.saveState && opt.restoreState);
  if (hooks.resume) {
    if (!resumable) throw new BilevelError(`optimizer "${opt.name}" cannot be resumed`, 'rerun from the start, or use an optimizer with saveState/restoreState (maid)');
    oracle.restoreState(hooks.resume.oracle);
    opt.restoreState!(hooks.resume.optimizer);
  }
  let snapshot: RunCheckpoint | undefined;
  const every = resumable ? hooks.checkpointEvery ?? 0 : 0;
  // Optimizers accept any Oracle; the contract still names the in-process class until all optimizers are ported.
  const result = opt.run(oracle as HypergradientOracle, spec.theta0, {
    budget: spec.budget,
    shouldStop: hooks.shouldStop,
    onIteration: (record, theta) => {
      record.probeWork = oracle.counters.probeWork;
      record.psnr = meanPsnr(oracle.current, spec.train.clean);
      record.ssim = meanSsim(oracle.current, spec.train.clean);
      const testEvery = hooks.testEvery ?? 0;
      if (spec.test && testEvery > 0 && record.iter % testEvery === 0) {
        const t = evaluateSplit(spec, spec.test, theta);
        record.testPsnr = t.metrics.psnr.learned;
        record.testSsim = t.metrics.ssim.learned;
        tf.dispose([t.input, t.learned]);
      }
      hooks.onIteration?.(record, theta);
      if (every > 0) {
        snapshot = { iterations: record.iter, optimizer: opt.saveState!(), oracle: oracle.saveState() };
        if (record.iter % every === 0) hooks.onCheckpoint?.(snapshot);
      }
    },
  });
  if (result.stopReason === 'interrupted' && snapshot) hooks.onCheckpoint?.(snapshot);
  const train = evaluateSplit(spec, spec.train, result.theta, oracle.current);
  const upperLoss = oracle.upper.value(train.learned);
  const upper = upperLoss.dataSync()[0];
  upperLoss.dispose();
  const counters = { ...oracle.counters };
  oracle.dispose();
  const test = spec.test ? evaluateSplit(spec, spec.test, result.theta) : undefined;
  return {
    theta: Array.from(result.theta),
    stopReason: result.stopReason,
    message: result.message,
    iterations: result.iterations,
    upperLoss: upper,
    lowerIterations: counters.lowerIterations,
    cgIterations: counters.cgIterations,
    probeWork: counters.probeWork,
    wallSeconds: (performance.now() - t0) / 1000,
    train: train.metrics,
    test: test?.metrics,
    images: {
      train: { input: train.input, learned: train.learned },
      test: test ? { input: test.input, learned: test.learned } : undefined,
    },
  };
}
