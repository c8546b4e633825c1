import type {
  HypergradientOracle, LowerEvaluation, OptimizerContext, OptimizerResult, OuterOptimizer, StopReason,
} from '@bilevel/core';
import { dot, iterationRecord, norm } from './common.js';
import { lbfgsDirection, memoryAfterStep, type LbfgsMemory } from './lbfgs.js';
import { StopRules } from './stopping.js';

export interface FixedAccuracyOptions {
  /** The fixed lower-level accuracy ε and CG (adjoint) residual δ. */
  epsilon: number;
  delta: number;
  /** Initial step, Armijo constant, backtracking factor, step growth after a success, steps tried per iteration. */
  step0: number;
  lambda: number;
  backtrack: number;
  stepGrow: number;
  maxBacktracks: number;
  /** Converged once ‖z‖ ≤ max(gradTol, relGradTol·‖z₀‖). */
  gradTol: number;
  relGradTol: number;
  /** Step direction: −z ('identity') or the L-BFGS direction −Hz of the last `metricMemory` accepted pairs ('lbfgs', unit first step). */
  metric: FixedAccuracyMetric;
  metricMemory: number;
}

export type FixedAccuracyMetric = 'identity' | 'lbfgs';

export const FIXED_ACCURACY_DEFAULTS: FixedAccuracyOptions = {
  epsilon: 1e-3, delta: 1e-3, step0: 1e-2, lambda: 1e-4, backtrack: 0.5, stepGrow: 10 / 9, maxBacktracks: 20, gradTol: 0, relGradTol: 1e-4,
  metric: 'identity', metricMemory: 8,
};

/**
 * Baseline: hypergradient descent at a fixed accuracy (ε, δ) with Armijo backtracking on the inexact values
 * f̃(θ − αd) ≤ f̃(θ) − λα⟨z, d⟩ (no certified bounds, no accuracy adaptation) and MAID's step growth; d = z, or the
 * L-BFGS direction d = Hz (as MAID's metric 'lbfgs': unit first step, memory dropped after ≥ 3 halvings).
 * Stops 'accuracy-floor' when no step decreases f̃ (the fixed accuracy no longer resolves the decrease), after one
 * retry along −z when an L-BFGS direction failed.
 */
export class FixedAccuracyDescent implements OuterOptimizer {
  readonly name = 'fixed-accuracy-gd';
  constructor(readonly options: FixedAccuracyOptions = FIXED_ACCURACY_DEFAULTS) {}

  run(oracle: HypergradientOracle, theta0: Float64Array, ctx: OptimizerContext): OptimizerResult {
    const o = this.options;
    const rules = new StopRules(ctx.budget, oracle, ctx.shouldStop);
    let theta = Float64Array.from(theta0);
    let step = o.step0;
    let iter = 0;
    let first = 0;
    let current: LowerEvaluation | undefined;
    let memory: LbfgsMemory = {};
    const finish = (reason: StopReason, message: string): OptimizerResult => {
      if (current) oracle.release(current);
      return { theta, stopReason: reason, message, iterations: iter };
    };
    for (;;) {
      const stop = rules.check(iter);
      if (stop) return finish(stop.reason, stop.message);
      current ??= oracle.evaluate(theta, o.epsilon);
      const hg = oracle.hypergradient(theta, o.epsilon, o.delta, current, { errorBound: false });
      const zNorm = norm(hg.grad);
      if (first === 0) first = zNorm;
      if (zNorm <= Math.max(o.gradTol, o.relGradTol * first)) return finish('converged', `‖z‖ = ${zNorm.toExponential(2)} is below the gradient tolerance`);
      let accepted: { ev: LowerEvaluation; step: number; commit: LbfgsMemory; quasiNewton: boolean } | undefined;
      let backtracks = 0;
      for (let attempt = 0; !accepted; attempt++) {
        const { d, commit } = o.metric === 'lbfgs' ? lbfgsDirection(theta, hg.grad, memory, o.metricMemory) : { d: hg.grad, commit: {} };
        const quasiNewton = o.metric === 'lbfgs' && (commit.pairs?.length ?? 0) > 0;
        const zd = dot(hg.grad, d);
        for (let i = 0; i < o.maxBacktracks && !accepted; i++) {
          const a = (quasiNewton ? 1 : step) * o.backtrack ** i;
          const ev = oracle.evaluate(theta.map((t, j) => t - a * d[j]), o.epsilon);
          if (ev.value <= current.value - o.lambda * a * zd) accepted = { ev, step: a, commit, quasiNewton };
          else {
            oracle.release(ev);
            backtracks++;
          }
          const stopNow = rules.check(iter);
          if (stopNow && !accepted) return finish(stopNow.reason, stopNow.message);
        }
        if (accepted) break;
        if (!quasiNewton || attempt > 0) return finish('accuracy-floor', `no step decreased f̃ at the fixed accuracy ε = ${o.epsilon} after ${o.maxBacktracks} backtracks`);
        memory = {}; // a stale quasi-Newton model: retry along −z
      }
      oracle.accept(accepted.ev);
      oracle.release(current);
      current = accepted.ev;
      theta = Float64Array.from(accepted.ev.theta);
      if (o.metric === 'lbfgs') memory = memoryAfterStep(accepted.commit, backtracks);
      if (!accepted.quasiNewton) step = accepted.step * o.stepGrow; // quasi-Newton steps start at 1, not at `step`
      iter++;
      ctx.onIteration?.(iterationRecord(oracle, {
        iter, seconds: rules.seconds, upperLoss: accepted.ev.value, epsilon: o.epsilon, delta: o.delta, omega: hg.errorBound, gradNorm: zNorm,
        step: accepted.step, backtracks,
      }), Float64Array.from(theta));
    }
  }
}
