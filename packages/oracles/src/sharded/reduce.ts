import {
  maidErrorBound, VALUE_ESTIMATE_WORK,
  type HypergradientResult, type LowerEvaluation, type LowerStop, type OracleCounters, type ValueEstimate,
} from '@bilevel/core';
import type { ShardEvaluation, ShardHypergradient } from './shards.js';

const STOP_ORDER: LowerStop[] = ['certified', 'iteration-cap', 'float32-floor'];

/** The shards' share w_s = √(n_s/n) of a stacked accuracy (ε_s = w_s ε, so Σ ε_s² = ε²). */
export function shardShares(sizes: readonly number[], n: number): number[] {
  return sizes.map((m) => Math.sqrt(m / n));
}

/**
 * One evaluation from the shards' (in shard order): values add, norms add in squares, iterations add weighted by
 * n_s/n (work per image), and the stop is the worst of the shards'.
 */
export function reduceEvaluations(parts: readonly ShardEvaluation[], shares: readonly number[], id: number, theta: Float64Array): LowerEvaluation {
  const sum = (f: (p: ShardEvaluation) => number) => parts.reduce((a, p) => a + f(p), 0);
  const lower = {
    iterations: parts.reduce((a, p, s) => a + p.iterations * shares[s] ** 2, 0),
    gradNorm: Math.sqrt(sum((p) => p.gradNormSq)),
    certifiedError: Math.sqrt(sum((p) => p.certifiedSq)),
    stop: parts.map((p) => p.stop).reduce((a, b) => (STOP_ORDER.indexOf(b) > STOP_ORDER.indexOf(a) ? b : a), 'certified' as LowerStop),
  };
  return { id, theta: Float64Array.from(theta), value: sum((p) => p.value), upperGradNorm: Math.sqrt(sum((p) => p.upperGradNormSq)), lower };
}

/** What reducing the shards' hypergradients needs besides them. */
export interface HypergradientReduction {
  evaluation: LowerEvaluation;
  epsilon: number;
  mu: number;
  upperLipschitz: number;
  /** The running ‖J‖ estimate of the sharded oracle (updated and returned). */
  jacobianNorm: number;
  withBound: boolean;
  valueEstimate: boolean;
  /** Seconds since the CG phase started (stats.cgSeconds). */
  seconds: number;
}

/**
 * z = Σ_s z_s and MAID's bound ω from the shards' constants (in shard order); the work is added to `counters`.
 * J stacks the shards' blocks, so ‖J‖² ≤ Σ_s ‖J_s‖² (near equality when the shards' images are alike).
 */
export function reduceHypergradients(parts: readonly ShardHypergradient[], shares: readonly number[], r: HypergradientReduction, counters: OracleCounters): HypergradientResult {
  const grad = new Float64Array(parts[0].grad.length);
  for (const p of parts) p.grad.forEach((g, j) => (grad[j] += g));
  const qNorm = Math.sqrt(parts.reduce((a, p) => a + p.qNormSq, 0));
  const zNorm = Math.hypot(...grad);
  const stacked = Math.sqrt(parts.reduce((a, p) => a + p.jacobianNorm ** 2, 0));
  const jacobianNorm = Math.max(r.jacobianNorm, qNorm > 0 ? zNorm / qNorm : 0, stacked);
  const lipschitzJ = Math.max(...parts.map((p) => p.lipschitzJ));
  const lipschitzHessian = Math.max(...parts.map((p) => p.lipschitzHessian));
  const weighted = (f: (p: ShardHypergradient) => number) => parts.reduce((a, p, s) => a + f(p) * shares[s] ** 2, 0);
  const cgIterations = weighted((p) => p.cgIterations);
  const probeWork = weighted((p) => p.probeWork);
  const cgResidual = Math.sqrt(parts.reduce((a, p) => a + p.cgResidualSq, 0));
  counters.cgIterations += cgIterations;
  counters.cgSeconds += r.seconds;
  counters.probeWork += probeWork;
  const ev = r.evaluation;
  const errorBound = !r.withBound ? Number.NaN : maidErrorBound({
    epsilon: r.epsilon, delta: cgResidual, mu: r.mu, Lg: r.upperLipschitz, upperGradNorm: ev.upperGradNorm, jacobianNorm, lipschitzJ, lipschitzHessian,
  });
  // g = Σ_s g_s, so the shards' corrected values and bounds add up; their cost is a full batch's (HypergradientOracle).
  const valueEstimate = r.valueEstimate
    ? parts.reduce<ValueEstimate>((a, p) => ({ value: a.value + p.valueEstimate!.value, bound: a.bound + p.valueEstimate!.bound }), { value: 0, bound: 0 })
    : undefined;
  if (valueEstimate) {
    counters.lowerIterations += VALUE_ESTIMATE_WORK.lowerIterations;
    counters.cgIterations += VALUE_ESTIMATE_WORK.cgIterations;
  }
  return {
    value: ev.value, valueEstimate, grad, errorBound, evaluation: ev,
    stats: {
      qNorm, lowerIterations: ev.lower.iterations, cgIterations, cgResidual, jacobianNorm, lipschitzJ,
      lipschitzHessianInverse: lipschitzHessian / (r.mu * r.mu), mu: r.mu, lowerSeconds: 0, cgSeconds: r.seconds, probeWork,
    },
  };
}
