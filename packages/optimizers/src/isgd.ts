import type { BatchCostScaling, HypergradientResult, Oracle, OuterOptimizer, Stop, StepContext, StepResult } from '@bilevel/core';
import { batchFields, epochLimit, initialSampler, nextBatch, onBatch, type MinibatchSamplerState } from './batches.js';
import { decay, deltaFloor, norm, type DecayKind, type FloorPolicy } from './common.js';

export type StochasticUpdate = 'sgd' | 'adam';

export interface IsgdOptions {
  /** Images per minibatch (the last batch of an epoch may be smaller); ≥ n gives full-batch gradient descent. */
  batchSize: number;
  /** α_k = step0 · s(k) with s from stepSchedule: constant 1, poly (k+1)^(−stepPower), log 1/log₂(k+2). */
  step0: number;
  stepSchedule: DecayKind;
  stepPower: number;
  /** ε_k = epsilon0 · s(k) (accuracySchedule, accuracyPower); δ_k = ε_k δ₀/ε₀. */
  epsilon0: number;
  delta0: number;
  accuracySchedule: DecayKind;
  accuracyPower: number;
  /** Update rule: plain inexact SGD, or Adam on the minibatch hypergradients (α_k is Adam's learning rate). */
  update: StochasticUpdate;
  beta1: number;
  beta2: number;
  adamEpsilon: number;
  /** Stop after this many epochs (0 = no limit), with 'max-iterations'. */
  maxEpochs: number;
  /** Converged once the epoch-mean hypergradient ‖z̄‖ ≤ max(gradTol, relGradTol·‖z̄ of epoch 1‖). */
  gradTol: number;
  relGradTol: number;
  /** When ε_k falls below the float32 floor: 'stop' (default) stops with accuracy-floor, 'clamp' keeps iterating at the floor. */
  atFloor: FloorPolicy;
  /** 1 = shuffle every epoch (seeded), 0 = fixed order. */
  shuffle: number;
  /** Seed of the minibatch order. */
  seed: number;
  /** Work accounting: 'per-image' counts a batch iteration as |B|/n of a full one (default), 'raw' counts it as one. */
  costScaling: BatchCostScaling;
}

export const ISGD_DEFAULTS: IsgdOptions = {
  batchSize: 4, step0: 1e-2, stepSchedule: 'poly', stepPower: 0.5, epsilon0: 1e-1, delta0: 1e-1, accuracySchedule: 'poly',
  accuracyPower: 1, update: 'sgd', beta1: 0.9, beta2: 0.999, adamEpsilon: 1e-8, maxEpochs: 0, gradTol: 0, relGradTol: 1e-3,
  atFloor: 'stop', shuffle: 1, seed: 0, costScaling: 'per-image',
};

/** Adam's defaults in this package: a larger learning rate, constant accuracy decay as for ISGD. */
export const ADAM_DEFAULTS: IsgdOptions = { ...ISGD_DEFAULTS, update: 'adam', step0: 0.1, stepSchedule: 'constant' };

/** Adam's moments m, v, the epoch's running mean hypergradient, and the first epoch's ‖z̄‖ (plain numbers). */
export interface IsgdState {
  theta: number[];
  /** Iterations so far: k of α_k, ε_k. */
  iter: number;
  sampler: MinibatchSamplerState;
  m: number[];
  v: number[];
  epochGrad: number[];
  firstEpochGradNorm: number;
}

/**
 * The ISGD family ("Bilevel learning with inexact stochastic gradients"): per minibatch B_k an inexact
 * hypergradient z_{B_k} at accuracies (ε_k, δ_k) from an oracle over B_k, whose per-image warm starts persist in
 * the full oracle across batches and epochs; then θ ← θ − α_k z_{B_k} (or an Adam step).
 */
export class Isgd implements OuterOptimizer<IsgdState> {
  readonly name: string;

  constructor(readonly options: IsgdOptions = ISGD_DEFAULTS) {
    this.name = options.update === 'adam' ? 'adam-hypergradient' : 'isgd';
  }

  stepAt(k: number): number {
    return this.options.step0 * decay(this.options.stepSchedule, k, this.options.stepPower);
  }

  accuracyAt(k: number): number {
    return this.options.epsilon0 * decay(this.options.accuracySchedule, k, this.options.accuracyPower);
  }

  init(theta0: Float64Array, oracle: Oracle): IsgdState {
    const d = theta0.length;
    return {
      theta: Array.from(theta0), iter: 0, sampler: initialSampler(oracle, this.options), m: new Array(d).fill(0), v: new Array(d).fill(0),
      epochGrad: new Array(d).fill(0), firstEpochGradNorm: 0,
    };
  }

  theta(state: IsgdState): Float64Array {
    return Float64Array.from(state.theta);
  }

  /** z_B at θ on the batch oracle at (ε_k, δ_k), δ_k raised to the CG floor; x̃ becomes the batch's warm start. */
  private async batchGradient(bo: Oracle, theta: Float64Array, k: number): Promise<{ stop: Stop } | { hg: HypergradientResult; epsilon: number; delta: number }> {
    const o = this.options;
    let epsilon = this.accuracyAt(k);
    let delta = epsilon * (o.delta0 / o.epsilon0);
    const floor = await bo.accuracyFloor(theta);
    if (epsilon < floor) {
      if (o.atFloor === 'stop') return { stop: { reason: 'accuracy-floor', message: `the schedule asks ε = ${epsilon.toExponential(2)} below the float32 floor ${floor.toExponential(2)}` } };
      epsilon = floor;
    }
    const ev = await bo.evaluate(theta, epsilon);
    if (ev.lower.stop === 'float32-floor') {
      bo.release(ev);
      return { stop: { reason: 'accuracy-floor', message: `the lower-level solver stalled at ‖∇h‖/μ = ${ev.lower.certifiedError.toExponential(2)} > ε (float32)` } };
    }
    delta = Math.max(delta, deltaFloor(bo, theta, ev.upperGradNorm));
    const hg = await bo.hypergradient(theta, ev.lower.certifiedError, delta, ev, { errorBound: false });
    await bo.accept(ev);
    bo.release(ev);
    return { hg, epsilon, delta };
  }

  /** θ ← θ − α_k z (sgd) or θ ← θ − α_k m̂/(√v̂ + ϵ) (adam, moments in `s`); returns ‖θ⁺ − θ‖. */
  private update(s: IsgdState, z: Float64Array, alpha: number): number {
    const o = this.options;
    const d = z.length;
    if (o.update !== 'adam') {
      s.theta = s.theta.map((t0, j) => t0 - alpha * z[j]);
      return alpha * norm(z);
    }
    const t = s.iter + 1;
    const dir = new Array<number>(d);
    for (let j = 0; j < d; j++) {
      s.m[j] = o.beta1 * s.m[j] + (1 - o.beta1) * z[j];
      s.v[j] = o.beta2 * s.v[j] + (1 - o.beta2) * z[j] * z[j];
      const mh = s.m[j] / (1 - o.beta1 ** t), vh = s.v[j] / (1 - o.beta2 ** t);
      dir[j] = mh / (Math.sqrt(vh) + o.adamEpsilon);
    }
    s.theta = s.theta.map((t0, j) => t0 - alpha * dir[j]);
    return alpha * norm(dir);
  }

  async step(oracle: Oracle, state: IsgdState, _ctx: StepContext): Promise<StepResult<IsgdState>> {
    const o = this.options;
    const s = structuredClone(state);
    const limit = epochLimit(s.sampler, o.maxEpochs);
    if (limit) return { state: s, stop: limit };
    const { batch, sampler } = nextBatch(s.sampler);
    const theta = Float64Array.from(s.theta);
    // A batch that stops at the float32 floor is discarded (its work still counts).
    const r = await onBatch(oracle, batch, o.costScaling, async (bo) => {
      const g = await this.batchGradient(bo, theta, s.iter);
      return { value: g, keep: !('stop' in g) };
    });
    if ('stop' in r) return { state: s, stop: r.stop };
    s.sampler = sampler;
    const z = r.hg.grad;
    const alpha = this.stepAt(s.iter);
    const stepNorm = this.update(s, z, alpha);
    for (let j = 0; j < z.length; j++) s.epochGrad[j] += (z[j] * batch.indices.length) / oracle.size;
    const record = {
      upperLoss: r.hg.value, epsilon: r.epsilon, delta: r.delta, omega: r.hg.errorBound, gradNorm: norm(z), step: alpha, backtracks: 0,
      ...batchFields(oracle, batch), stepNorm,
    };
    s.iter++;
    return { state: s, record, stop: batch.epochEnd ? this.epochEnd(s) : undefined };
  }

  /** At an epoch's end: converged once ‖z̄‖ ≤ max(gradTol, relGradTol·‖z̄ of epoch 1‖). */
  private epochEnd(s: IsgdState): Stop | undefined {
    const o = this.options;
    const g = norm(s.epochGrad);
    s.epochGrad.fill(0);
    if (s.firstEpochGradNorm === 0) s.firstEpochGradNorm = g;
    else if (g <= Math.max(o.gradTol, o.relGradTol * s.firstEpochGradNorm)) {
      return { reason: 'converged', message: `epoch-mean hypergradient ‖z̄‖ = ${g.toExponential(2)} is below the gradient tolerance` };
    }
    return undefined;
  }
}
