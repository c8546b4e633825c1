import type {
  HypergradientOracle, LowerEvaluation, OptimizerContext, OptimizerResult, OuterOptimizer, StopReason,
} from '@bilevel/core';
import { iterationRecord, norm } from './common.js';
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
}

export const FIXED_ACCURACY_DEFAULTS: FixedAccuracyOptions = {
  epsilon: 1e-3, delta: 1e-3, step0: 1e-2, lambda: 1e-4, backtrack: 0.5, stepGrow: 10 / 9, maxBacktracks: 20, gradTol: 0, relGradTol: 1e-4,
};

/**
 * Baseline: hypergradient descent at a fixed accuracy (ε, δ) with Armijo backtracking on the inexact values
 * f̃(θ − αz) ≤ f̃(θ) − λα‖z‖² (no certified bounds, no accuracy adaptation) and MAID's step growth.
 * Stops 'accuracy-floor' when no step decreases f̃ (the fixed accuracy no longer resolves the decrease).
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
    const finish = (reason: StopReason, message: string): OptimizerResult => {
      if (current) oracle.release(current);
      return { theta, stopReason: reason, message, iterations: iter };
    };
    for (;;) {
      const stop = rules.check(iter);
      if (stop) return finish(stop.reason, stop.message);
      current ??= oracle.evaluate(theta, o.epsilon);
      const hg = oracle.hypergradient(theta, o.epsilon, o.delta, current);
      const zNorm = norm(hg.grad);
      if (first === 0) first = zNorm;
      if (zNorm <= Math.max(o.gradTol, o.relGradTol * first)) return finish('converged', `‖z‖ = ${zNorm.toExponential(2)} is below the gradient tolerance`);
      let accepted: { ev: LowerEvaluation; step: number } | undefined;
      let backtracks = 0;
      for (let i = 0; i < o.maxBacktracks && !accepted; i++) {
        const a = step * o.backtrack ** i;
        const ev = oracle.evaluate(theta.map((t, j) => t - a * hg.grad[j]), o.epsilon);
        if (ev.value <= current.value - o.lambda * a * zNorm * zNorm) accepted = { ev, step: a };
        else {
          oracle.release(ev);
          backtracks++;
        }
        const stopNow = rules.check(iter);
        if (stopNow && !accepted) return finish(stopNow.reason, stopNow.message);
      }
      if (!accepted) return finish('accuracy-floor', `no step decreased f̃ at the fixed accuracy ε = ${o.epsilon} after ${o.maxBacktracks} backtracks`);
      oracle.accept(accepted.ev);
      oracle.release(current);
      current = accepted.ev;
      theta = Float64Array.from(accepted.ev.theta);
      step = accepted.step * o.stepGrow;
      iter++;
      ctx.onIteration?.(iterationRecord(oracle, {
        iter, seconds: rules.seconds, upperLoss: accepted.ev.value, epsilon: o.epsilon, delta: o.delta, omega: hg.errorBound, gradNorm: zNorm,
        step: accepted.step, backtracks,
      }), Float64Array.from(theta));
    }
  }
}
