import { z, type LowerEvaluation, type Oracle, type OuterOptimizer, type Stop, type StepContext, type StepRecord, type StepResult } from '@bilevel/core';
import { acceptedEvaluation, dot, fraction, nonNegative, norm, positive } from './common.js';
import { memoryAfterStep, type LbfgsMemory } from './lbfgs.js';
import { stepMetric } from './maid-parts.js';
import { toleranceScale } from './tolerances.js';

export const FIXED_ACCURACY_METRICS = ['identity', 'lbfgs'] as const;
export type FixedAccuracyMetric = (typeof FIXED_ACCURACY_METRICS)[number];

/** Fixed-accuracy descent's options, declared once. */
export const FIXED_ACCURACY_SCHEMA = z.strictObject({
  /** The fixed lower-level accuracy ε and CG (adjoint) residual δ. */
  epsilon: positive().default(1e-5).describe('fixed lower-level accuracy ε, RMS per unknown'),
  delta: positive().default(1e-5).describe('fixed CG residual δ, RMS per unknown in image units'),
  /** Initial step, Armijo constant, backtracking factor, step growth after a success, steps tried per iteration. */
  step0: positive().default(1e-2).describe('initial step'),
  lambda: nonNegative().default(1e-4).describe('Armijo constant'),
  backtrack: fraction().default(0.5).describe('step shrink'),
  stepGrow: z.number().min(1).default(10 / 9).describe('step growth after a success'),
  maxBacktracks: z.number().int().min(1).default(20).describe('steps tried per iteration'),
  /** Converged once ‖z‖ ≤ max(gradTol, relGradTol·‖z₀‖). */
  gradTol: nonNegative().default(0).describe('stop when ‖z‖ ≤ gradTol'),
  relGradTol: nonNegative().default(1e-4).describe('stop when ‖z‖ ≤ relGradTol·‖z₀‖'),
  /** Step direction: −z ('identity') or the L-BFGS direction −Hz of the last `metricMemory` accepted pairs ('lbfgs', unit first step). */
  metric: z.enum(FIXED_ACCURACY_METRICS).default('identity').describe('step direction: identity (−z) | lbfgs (quasi-Newton, unit first step)'),
  metricMemory: z.number().int().min(1).default(8).describe('pairs kept by metric lbfgs'),
});

export type FixedAccuracyOptions = z.output<typeof FIXED_ACCURACY_SCHEMA>;
export const FIXED_ACCURACY_DEFAULTS: FixedAccuracyOptions = FIXED_ACCURACY_SCHEMA.parse({});

/** Serializable state of fixed-accuracy descent. */
export interface FixedAccuracyState {
  theta: number[];
  /** The next initial step along −z. */
  step: number;
  /** ‖z₀‖ (0 before the first iteration). */
  firstGradNorm: number;
  /** The L-BFGS memory (metric 'lbfgs'). */
  memory: LbfgsMemory;
  /** Whether the oracle's accepted evaluation is x̃ at θ (false before the first step: x̃(θ₀) is evaluated, not accepted). */
  evaluated: boolean;
}

/** An accepted trial step. */
interface Accepted {
  readonly ev: LowerEvaluation;
  readonly step: number;
  readonly commit: LbfgsMemory;
  readonly quasiNewton: boolean;
}

/**
 * Baseline: hypergradient descent at a fixed accuracy (ε, δ) with Armijo backtracking on the inexact values
 * f̃(θ − αd) ≤ f̃(θ) − λα⟨z, d⟩ (no certified bounds, no accuracy adaptation) and MAID's step growth; d = z, or the
 * L-BFGS direction d = Hz (MAID's step metric 'lbfgs': unit first step, memory dropped after ≥ 3 halvings).
 * Stops 'accuracy-floor' when no step decreases f̃ (the fixed accuracy no longer resolves the decrease), after one
 * retry along −z when an L-BFGS direction failed.
 */
export class FixedAccuracyDescent implements OuterOptimizer<FixedAccuracyState> {
  readonly name = 'fixed-accuracy-gd';
  constructor(readonly options: FixedAccuracyOptions = FIXED_ACCURACY_DEFAULTS) {}

  init(theta0: Float64Array): FixedAccuracyState {
    return { theta: Array.from(theta0), step: this.options.step0, firstGradNorm: 0, memory: {}, evaluated: false };
  }

  theta(state: FixedAccuracyState): Float64Array {
    return Float64Array.from(state.theta);
  }

  async step(oracle: Oracle, state: FixedAccuracyState, ctx: StepContext): Promise<StepResult<FixedAccuracyState>> {
    const o = this.options;
    const s = structuredClone(state);
    const theta = Float64Array.from(s.theta);
    const sc = toleranceScale(oracle);
    const current = s.evaluated ? acceptedEvaluation(oracle, this.name) : await oracle.evaluate(theta, o.epsilon * sc.x);
    const hg = await oracle.hypergradient(theta, o.epsilon * sc.x, o.delta * sc.residual, current, { errorBound: false });
    const zNorm = norm(hg.grad);
    if (s.firstGradNorm === 0) s.firstGradNorm = zNorm;
    const stop = (st: Stop): StepResult<FixedAccuracyState> => {
      oracle.release(current);
      return { state: s, stop: st };
    };
    if (zNorm <= Math.max(o.gradTol, o.relGradTol * s.firstGradNorm)) return stop({ reason: 'converged', message: `‖z‖ = ${zNorm.toExponential(2)} is below the gradient tolerance` });
    const r = await this.search(oracle, s, theta, current, hg.grad, ctx);
    if (r.stop) return stop(r.stop);
    const accepted = r.accepted!;
    await oracle.accept(accepted.ev);
    oracle.release(current);
    s.evaluated = true;
    s.theta = Array.from(accepted.ev.theta);
    if (o.metric === 'lbfgs') s.memory = memoryAfterStep(accepted.commit, r.backtracks);
    if (!accepted.quasiNewton) s.step = accepted.step * o.stepGrow; // quasi-Newton steps start at 1, not at `step`
    const record: StepRecord = {
      upperLoss: accepted.ev.value, epsilon: o.epsilon, delta: o.delta, omega: hg.errorBound, gradNorm: zNorm, step: accepted.step, backtracks: r.backtracks,
    };
    return { state: s, record };
  }

  /** Armijo backtracking along −d (d = z, or the L-BFGS direction with one retry along −z when it fails). */
  private async search(oracle: Oracle, s: FixedAccuracyState, theta: Float64Array, current: LowerEvaluation, z: Float64Array, ctx: StepContext): Promise<{ accepted?: Accepted; backtracks: number; stop?: Stop }> {
    const o = this.options;
    const epsilon = o.epsilon * toleranceScale(oracle).x;
    let backtracks = 0;
    for (let attempt = 0; ; attempt++) {
      const { d, commit } = stepMetric(theta, z, s.memory, { metric: o.metric, metricDecay: 0, metricMemory: o.metricMemory });
      const quasiNewton = o.metric === 'lbfgs' && (commit.pairs?.length ?? 0) > 0;
      const zd = dot(z, d);
      for (let i = 0; i < o.maxBacktracks; i++) {
        const a = (quasiNewton ? 1 : s.step) * o.backtrack ** i;
        const ev = await oracle.evaluate(theta.map((t, j) => t - a * d[j]), epsilon);
        if (ev.value <= current.value - o.lambda * a * zd) {
          ctx.check(); // polled after every trial as before (same shouldStop calls); an accepted trial is kept whatever it says
          return { accepted: { ev, step: a, commit, quasiNewton }, backtracks };
        }
        oracle.release(ev);
        backtracks++;
        const stop = ctx.check();
        if (stop) return { backtracks, stop };
      }
      if (!quasiNewton || attempt > 0) return { backtracks, stop: { reason: 'accuracy-floor', message: `no step decreased f̃ at the fixed accuracy ε = ${o.epsilon} after ${o.maxBacktracks} backtracks` } };
      s.memory = {}; // a stale quasi-Newton model: retry along −z
    }
  }
}
