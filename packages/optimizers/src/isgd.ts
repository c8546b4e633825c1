import {
  BatchedOracle, MinibatchSampler,
  type BatchCostScaling, type HypergradientOracle, type MinibatchSamplerState, type OptimizerContext, type OptimizerResult,
  type OuterOptimizer, type StopReason,
} from '@bilevel/core';
import { decay, deltaFloor, iterationRecord, norm, type DecayKind, type FloorPolicy } from './common.js';
import { StopRules } from './stopping.js';

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

export interface IsgdState {
  theta: number[];
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
export class Isgd implements OuterOptimizer {
  readonly name: string;
  state: IsgdState | undefined;

  constructor(readonly options: IsgdOptions = ISGD_DEFAULTS) {
    this.name = options.update === 'adam' ? 'adam-hypergradient' : 'isgd';
  }

  stepAt(k: number): number {
    return this.options.step0 * decay(this.options.stepSchedule, k, this.options.stepPower);
  }

  accuracyAt(k: number): number {
    return this.options.epsilon0 * decay(this.options.accuracySchedule, k, this.options.accuracyPower);
  }

  run(oracle: HypergradientOracle, theta0: Float64Array, ctx: OptimizerContext): OptimizerResult {
    const o = this.options;
    const batched = new BatchedOracle(oracle, o.costScaling, o.seed);
    const sampler = new MinibatchSampler(batched.size, o.batchSize, o.seed, o.shuffle === 1);
    const d = theta0.length;
    const s: IsgdState = this.state ?? {
      theta: Array.from(theta0), iter: 0, sampler: sampler.state, m: new Array(d).fill(0), v: new Array(d).fill(0),
      epochGrad: new Array(d).fill(0), firstEpochGradNorm: 0,
    };
    this.state = s;
    sampler.restore(s.sampler);
    const rules = new StopRules(ctx.budget, oracle, ctx.shouldStop);
    const finish = (reason: StopReason, message: string): OptimizerResult => ({ theta: Float64Array.from(s.theta), stopReason: reason, message, iterations: s.iter });

    for (;;) {
      const stop = rules.check(s.iter);
      if (stop) return finish(stop.reason, stop.message);
      const epochsDone = s.sampler.epoch + (s.sampler.position >= batched.size ? 1 : 0);
      if (o.maxEpochs > 0 && epochsDone >= o.maxEpochs) {
        return finish('max-iterations', `completed ${o.maxEpochs} epochs`);
      }
      const batch = sampler.next();
      const theta = Float64Array.from(s.theta);
      const handle = batched.open(batch.indices);
      const bo = handle.oracle;
      let epsilon = this.accuracyAt(s.iter);
      let delta = epsilon * (o.delta0 / o.epsilon0);
      const floor = bo.accuracyFloor(theta);
      if (epsilon < floor) {
        if (o.atFloor === 'stop') {
          batched.discard(handle);
          return finish('accuracy-floor', `the schedule asks ε = ${epsilon.toExponential(2)} below the float32 floor ${floor.toExponential(2)}`);
        }
        epsilon = floor;
      }
      const ev = bo.evaluate(theta, epsilon);
      if (ev.lower.stop === 'float32-floor') {
        bo.release(ev);
        batched.discard(handle);
        return finish('accuracy-floor', `the lower-level solver stalled at ‖∇h‖/μ = ${ev.lower.certifiedError.toExponential(2)} > ε (float32)`);
      }
      delta = Math.max(delta, deltaFloor(bo, theta, ev.upperGradNorm));
      const hg = bo.hypergradient(theta, ev.lower.certifiedError, delta, ev, { errorBound: false });
      bo.accept(ev);
      bo.release(ev);
      batched.commit(handle);
      s.sampler = sampler.state;

      const z = hg.grad;
      const alpha = this.stepAt(s.iter);
      let stepNorm: number;
      if (o.update === 'adam') {
        const t = s.iter + 1;
        const dir = new Array<number>(d);
        for (let j = 0; j < d; j++) {
          s.m[j] = o.beta1 * s.m[j] + (1 - o.beta1) * z[j];
          s.v[j] = o.beta2 * s.v[j] + (1 - o.beta2) * z[j] * z[j];
          const mh = s.m[j] / (1 - o.beta1 ** t), vh = s.v[j] / (1 - o.beta2 ** t);
          dir[j] = mh / (Math.sqrt(vh) + o.adamEpsilon);
        }
        s.theta = s.theta.map((t0, j) => t0 - alpha * dir[j]);
        stepNorm = alpha * norm(dir);
      } else {
        s.theta = s.theta.map((t0, j) => t0 - alpha * z[j]);
        stepNorm = alpha * norm(z);
      }
      for (let j = 0; j < d; j++) s.epochGrad[j] += (z[j] * batch.indices.length) / batched.size;
      const record = iterationRecord(oracle, {
        iter: s.iter + 1, seconds: rules.seconds, upperLoss: hg.value, epsilon, delta, omega: hg.errorBound, gradNorm: norm(z),
        step: alpha, backtracks: 0, epoch: batch.epoch + 1, batchSize: batch.indices.length, stepNorm,
        rawLowerIterations: batched.rawCounters.lowerIterations, rawCgIterations: batched.rawCounters.cgIterations,
      });
      s.iter++;
      ctx.onIteration?.(record, Float64Array.from(s.theta));
      if (batch.epochEnd) {
        const g = norm(s.epochGrad);
        s.epochGrad.fill(0);
        if (s.firstEpochGradNorm === 0) s.firstEpochGradNorm = g;
        else if (g <= Math.max(o.gradTol, o.relGradTol * s.firstEpochGradNorm)) {
          return finish('converged', `epoch-mean hypergradient ‖z̄‖ = ${g.toExponential(2)} is below the gradient tolerance`);
        }
      }
    }
  }
}
