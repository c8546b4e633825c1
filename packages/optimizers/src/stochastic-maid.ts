import { z, type Oracle, type OuterOptimizer, type Stop, type StepContext, type StepRecord, type StepResult } from '@bilevel/core';
import { batchFields, epochLimit, initialSampler, nextBatch, onBatch, type BatchOptions, type Minibatch, type MinibatchSamplerState } from './batches.js';
import { batchShape, nonNegative } from './common.js';
import { initialMaidState, MAID_SHAPE, maidStep, type MaidOptions, type MaidState } from './maid.js';

/** Stochastic MAID's options, declared once: MAID's, the minibatch options, and the noise test. */
export const STOCHASTIC_MAID_SCHEMA = z.strictObject({
  ...MAID_SHAPE,
  batchSize: batchShape.batchSize,
  /**
   * Converged once an epoch's mean minibatch hypergradient z̄ is within its sampling noise: ‖z̄‖² ≤ noiseRatio·s²/m,
   * s² the weighted variance of the m accepted batches' z_B about z̄ (0 switches the test off).
   */
  noiseRatio: nonNegative().default(1).describe('converged when an epoch-mean ‖z̄‖² ≤ noiseRatio × its sampling variance s²/m (0: off)'),
  maxEpochs: batchShape.maxEpochs, shuffle: batchShape.shuffle, seed: batchShape.seed, costScaling: batchShape.costScaling,
});

export type StochasticMaidOptions = Omit<z.output<typeof STOCHASTIC_MAID_SCHEMA>, 'seed'> & BatchOptions;

/** Seed 0 is a placeholder: the plugin uses the experiment seed unless `seed` is given. */
export const STOCHASTIC_MAID_DEFAULTS: StochasticMaidOptions = { ...STOCHASTIC_MAID_SCHEMA.parse({}), seed: 0 };

export interface StochasticMaidState {
  /** MAID's state, carried from batch to batch (ε, δ, α, θ, the metric). */
  maid: MaidState;
  sampler: MinibatchSamplerState;
  /** Consecutive batches on which MAID could not take a step (accuracy floor or converged on the batch). */
  stalled: number;
  stalledConverged: number;
  /** The accepted batches' z_B (recovered as (θ − θ⁺)/α) and sizes in the current epoch. */
  epochGrads: { z: number[]; size: number }[];
  /** g_B of the last accepted step (the upper loss of rows without a step). */
  lastLoss?: number;
}

/** The inner step's context: only an interruption stops a MAID step on a batch (budgets are checked between batches). */
function batchContext(ctx: StepContext): StepContext {
  const t0 = performance.now();
  return {
    check: () => {
      const stop = ctx.check();
      return stop?.reason === 'interrupted' ? stop : undefined;
    },
    get seconds() {
      return (performance.now() - t0) / 1000;
    },
  };
}

/**
 * Converged when the epoch-mean z̄ = Σ (|B|/N) z_B of the accepted batches is within its sampling noise:
 * ‖z̄‖² ≤ noiseRatio · s²/m with s² = Σ (|B|/N) ‖z_B − z̄‖².
 */
function noiseTest(g: StochasticMaidState['epochGrads'], theta: ArrayLike<number>, noiseRatio: number): Stop | undefined {
  if (!(noiseRatio > 0 && g.length >= 2)) return undefined;
  const total = g.reduce((a, b) => a + b.size, 0);
  const mean = Array.from(theta, (_, j) => g.reduce((a, b) => a + (b.size / total) * b.z[j], 0));
  const variance = g.reduce((a, b) => a + (b.size / total) * b.z.reduce((c, zj, j) => c + (zj - mean[j]) ** 2, 0), 0);
  const meanSq = mean.reduce((a, m) => a + m * m, 0);
  if (meanSq > (noiseRatio * variance) / g.length) return undefined;
  return {
    reason: 'converged',
    message: `the epoch-mean minibatch hypergradient (‖z̄‖ = ${Math.sqrt(meanSq).toExponential(2)}) is within its sampling noise (s/√m = ${Math.sqrt(variance / g.length).toExponential(2)})`,
  };
}

/**
 * Stochastic MAID: one MAID iteration per minibatch — the certified descent test (ω ≤ (1 − η)‖z_B‖) and the
 * inexact backtracking on the batch loss g_B, evaluated on an oracle over the current batch (`oracle.subset`) — with
 * MAID's adaptive ε, δ and step carried from batch to batch (one MaidState). Per-image warm starts persist across
 * batches and epochs through `oracle.merge`. A batch on which MAID reaches the float32 floor keeps the (ε, δ) it
 * started with; a whole epoch of batches without a step stops the run ('accuracy-floor', or 'converged' when every
 * one of them met the gradient tolerance).
 */
export class StochasticMaid implements OuterOptimizer<StochasticMaidState> {
  readonly name = 'stochastic-maid';
  private readonly maidOptions: MaidOptions;

  constructor(readonly options: StochasticMaidOptions = STOCHASTIC_MAID_DEFAULTS) {
    const { batchSize: _b, noiseRatio: _n, maxEpochs: _e, shuffle: _s, seed: _d, costScaling: _c, ...maidOptions } = options;
    this.maidOptions = maidOptions;
  }

  init(theta0: Float64Array, oracle: Oracle): StochasticMaidState {
    return { maid: initialMaidState(theta0, this.maidOptions), sampler: initialSampler(oracle, this.options), stalled: 0, stalledConverged: 0, epochGrads: [] };
  }

  theta(state: StochasticMaidState): Float64Array {
    return Float64Array.from(state.maid.theta);
  }

  async step(oracle: Oracle, state: StochasticMaidState, ctx: StepContext): Promise<StepResult<StochasticMaidState>> {
    const o = this.options;
    const s = structuredClone(state);
    const limit = epochLimit(s.sampler, o.maxEpochs);
    if (limit) return { state: s, stop: limit };
    const { batch, sampler, batchesPerEpoch } = nextBatch(s.sampler);
    // A new batch: MAID must evaluate g_B at θ afresh (its accepted evaluation belonged to the previous batch).
    const before: MaidState = { ...s.maid, evaluated: false, carried: undefined };
    const inner = batchContext(ctx);
    const r = await onBatch(oracle, batch, o.costScaling, async (sub) => {
      // As a one-iteration MAID run: an interruption is polled before the batch's first oracle call.
      const early = inner.check();
      return { value: early ? { state: before, stop: early } : await maidStep(sub, before, inner, this.maidOptions), keep: true };
    });
    s.sampler = sampler;
    if (r.stop?.reason === 'interrupted') {
      s.maid = r.state;
      return { state: s, stop: r.stop };
    }
    const record = r.record ? this.stepped(oracle, s, batch, before, r.state, r.record) : this.stalled(oracle, s, batch, before, r.state, r.stop!);
    s.maid = { ...r.state, evaluated: false, carried: undefined };
    return { state: s, record, stop: this.epochStop(s, batch, batchesPerEpoch, r.stop) };
  }

  /** A step on the batch: z_B = (θ − θ⁺)/α joins the epoch's list; the stall counts reset. */
  private stepped(oracle: Oracle, s: StochasticMaidState, batch: Minibatch, before: MaidState, after: MaidState, inner: StepRecord): StepRecord {
    const theta = before.theta;
    s.epochGrads.push({ z: Array.from(theta, (t, j) => (t - after.theta[j]) / inner.step), size: batch.indices.length });
    s.lastLoss = inner.upperLoss;
    s.stalled = 0;
    s.stalledConverged = 0;
    return { ...inner, ...batchFields(oracle, batch), accepted: 1 };
  }

  /** No step on the batch: MAID hit the float32 floor (or met the tolerance) on it. Keep the accuracies it started with. */
  private stalled(oracle: Oracle, s: StochasticMaidState, batch: Minibatch, before: MaidState, after: MaidState, stop: Stop): StepRecord {
    s.stalled++;
    if (stop.reason === 'converged') s.stalledConverged++;
    after.epsilon = before.epsilon;
    after.delta = before.delta;
    return {
      upperLoss: s.lastLoss ?? Number.NaN, epsilon: after.epsilon, delta: after.delta, omega: 0, gradNorm: 0, step: 0, backtracks: 0,
      ...batchFields(oracle, batch), accepted: 0,
    };
  }

  /** At an epoch's end the noise test; after a whole epoch of batches without a step, stop. */
  private epochStop(s: StochasticMaidState, batch: Minibatch, batchesPerEpoch: number, last: Stop | undefined): Stop | undefined {
    if (batch.epochEnd) {
      const g = s.epochGrads;
      s.epochGrads = [];
      const converged = noiseTest(g, s.maid.theta, this.options.noiseRatio);
      if (converged) return converged;
    }
    if (s.stalled < batchesPerEpoch) return undefined;
    return s.stalledConverged === s.stalled
      ? { reason: 'converged', message: `MAID met the gradient tolerance on ${s.stalled} consecutive batches (a whole epoch)` }
      : { reason: 'accuracy-floor', message: `MAID reached the float32 accuracy floor without a step on ${s.stalled} consecutive batches (a whole epoch); last: ${last?.message}` };
  }
}
