import {
  BatchedOracle, MinibatchSampler,
  type BatchCostScaling, type HypergradientOracle, type IterationRecord, type MinibatchSamplerState, type OptimizerContext,
  type OptimizerResult, type OuterOptimizer, type StopReason,
} from '@bilevel/core';
import { iterationRecord } from './common.js';
import { Maid, MAID_DEFAULTS, type MaidOptions, type MaidState } from './maid.js';
import { StopRules } from './stopping.js';

export interface StochasticMaidOptions extends MaidOptions {
  batchSize: number;
  /**
   * Converged once an epoch's mean minibatch hypergradient z̄ is within its sampling noise: ‖z̄‖² ≤ noiseRatio·s²/m,
   * s² the weighted variance of the m accepted batches' z_B about z̄ (0 switches the test off).
   */
  noiseRatio: number;
  /** Stop after this many epochs (0 = no limit), with 'max-iterations'. */
  maxEpochs: number;
  shuffle: number;
  seed: number;
  costScaling: BatchCostScaling;
}

export const STOCHASTIC_MAID_DEFAULTS: StochasticMaidOptions = {
  ...MAID_DEFAULTS, batchSize: 4, noiseRatio: 1, maxEpochs: 0, shuffle: 1, seed: 0, costScaling: 'per-image',
};

export interface StochasticMaidState {
  maid: MaidState | undefined;
  iter: number;
  sampler: MinibatchSamplerState;
  /** Consecutive batches on which MAID could not take a step (accuracy floor or converged on the batch). */
  stalled: number;
  stalledConverged: number;
  /** The accepted batches' z_B (recovered as (θ − θ⁺)/α) and sizes in the current epoch. */
  epochGrads: { z: number[]; size: number }[];
}

/**
 * Stochastic MAID: one MAID iteration per minibatch — the certified descent test (ω ≤ (1 − η)‖z_B‖) and the
 * inexact backtracking on the batch loss g_B, evaluated on an oracle over the current batch — with MAID's
 * adaptive ε, δ and step carried from batch to batch (the MaidState of one Maid instance). Per-image warm starts
 * persist across batches and epochs through BatchedOracle. A batch on which MAID reaches the float32 floor keeps
 * the (ε, δ) it started with; a whole epoch of batches without a step stops the run ('accuracy-floor', or
 * 'converged' when every one of them met the gradient tolerance).
 */
export class StochasticMaid implements OuterOptimizer {
  readonly name = 'stochastic-maid';
  state: StochasticMaidState | undefined;
  private readonly maid: Maid;

  constructor(readonly options: StochasticMaidOptions = STOCHASTIC_MAID_DEFAULTS) {
    const { batchSize: _b, noiseRatio: _n, maxEpochs: _e, shuffle: _s, seed: _d, costScaling: _c, ...maidOptions } = options;
    this.maid = new Maid(maidOptions);
  }

  run(oracle: HypergradientOracle, theta0: Float64Array, ctx: OptimizerContext): OptimizerResult {
    const o = this.options;
    const batched = new BatchedOracle(oracle, o.costScaling, o.seed);
    const sampler = new MinibatchSampler(batched.size, o.batchSize, o.seed, o.shuffle === 1);
    const s: StochasticMaidState = this.state ?? { maid: undefined, iter: 0, sampler: sampler.state, stalled: 0, stalledConverged: 0, epochGrads: [] };
    this.state = s;
    sampler.restore(s.sampler);
    this.maid.state = s.maid ? { ...s.maid } : undefined;
    const rules = new StopRules(ctx.budget, oracle, ctx.shouldStop);
    let theta = Float64Array.from(s.maid?.theta ?? theta0);
    let lastLoss = NaN;
    const finish = (reason: StopReason, message: string): OptimizerResult => ({ theta: Float64Array.from(theta), stopReason: reason, message, iterations: s.iter });

    for (;;) {
      const stop = rules.check(s.iter);
      if (stop) return finish(stop.reason, stop.message);
      const epochsDone = s.sampler.epoch + (s.sampler.position >= batched.size ? 1 : 0);
      if (o.maxEpochs > 0 && epochsDone >= o.maxEpochs) return finish('max-iterations', `completed ${o.maxEpochs} epochs`);

      const batch = sampler.next();
      const handle = batched.open(batch.indices);
      // A new batch: MAID must evaluate g_B at θ afresh (its remembered evaluation belongs to the previous batch).
      if (this.maid.state) delete this.maid.state.current;
      const before = this.maid.state ? { ...this.maid.state } : undefined;
      let inner: IterationRecord | undefined;
      const r = this.maid.run(handle.oracle, theta, {
        budget: { maxIterations: (this.maid.state?.iter ?? 0) + 1 },
        shouldStop: ctx.shouldStop,
        onIteration: (rec) => (inner = { ...rec }),
      });
      batched.commit(handle);
      s.sampler = sampler.state;
      if (r.stopReason === 'interrupted') {
        s.maid = this.maid.state && { ...this.maid.state };
        return finish('interrupted', r.message);
      }
      const ms = this.maid.state!;
      let record: IterationRecord;
      if (inner) {
        s.epochGrads.push({ z: Array.from(theta, (t, j) => (t - ms.theta[j]) / inner!.step), size: batch.indices.length });
        theta = Float64Array.from(ms.theta);
        lastLoss = inner.upperLoss;
        s.stalled = 0;
        s.stalledConverged = 0;
        record = iterationRecord(oracle, {
          ...inner, iter: s.iter + 1, seconds: rules.seconds, epoch: batch.epoch + 1, batchSize: batch.indices.length, accepted: 1,
          rawLowerIterations: batched.rawCounters.lowerIterations, rawCgIterations: batched.rawCounters.cgIterations,
        });
      } else {
        // No step on this batch: MAID hit the float32 floor (or met the tolerance) on it. Keep the accuracies it started with.
        s.stalled++;
        if (r.stopReason === 'converged') s.stalledConverged++;
        if (before) {
          ms.epsilon = before.epsilon;
          ms.delta = before.delta;
        } else {
          ms.epsilon = o.epsilon0;
          ms.delta = o.delta0;
        }
        record = iterationRecord(oracle, {
          iter: s.iter + 1, seconds: rules.seconds, upperLoss: lastLoss, epsilon: ms.epsilon, delta: ms.delta, omega: 0, gradNorm: 0,
          step: 0, backtracks: 0, epoch: batch.epoch + 1, batchSize: batch.indices.length, accepted: 0,
          rawLowerIterations: batched.rawCounters.lowerIterations, rawCgIterations: batched.rawCounters.cgIterations,
        });
      }
      s.maid = { ...ms };
      delete s.maid.current;
      s.iter++;
      ctx.onIteration?.(record, Float64Array.from(theta));
      if (batch.epochEnd) {
        const g = s.epochGrads;
        s.epochGrads = [];
        if (o.noiseRatio > 0 && g.length >= 2) {
          const total = g.reduce((a, b) => a + b.size, 0);
          const mean = theta.map((_, j) => g.reduce((a, b) => a + (b.size / total) * b.z[j], 0));
          const variance = g.reduce((a, b) => a + (b.size / total) * b.z.reduce((c, zj, j) => c + (zj - mean[j]) ** 2, 0), 0);
          const meanSq = mean.reduce((a, m) => a + m * m, 0);
          if (meanSq <= (o.noiseRatio * variance) / g.length) {
            return finish('converged', `the epoch-mean minibatch hypergradient (‖z̄‖ = ${Math.sqrt(meanSq).toExponential(2)}) is within its sampling noise (s/√m = ${Math.sqrt(variance / g.length).toExponential(2)})`);
          }
        }
      }
      if (s.stalled >= sampler.batchesPerEpoch) {
        return s.stalledConverged === s.stalled
          ? finish('converged', `MAID met the gradient tolerance on ${s.stalled} consecutive batches (a whole epoch)`)
          : finish('accuracy-floor', `MAID reached the float32 accuracy floor without a step on ${s.stalled} consecutive batches (a whole epoch); last: ${r.message}`);
      }
    }
  }
}
