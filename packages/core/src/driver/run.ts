import type { Budget, IterationRecord, OptimizerResult, OuterOptimizer, StepRecord } from '../contracts/optimizer.js';
import type { Oracle, OracleState } from '../contracts/oracle.js';
import { StopRules } from './stop-rules.js';

/** Everything needed to continue a run bit-for-bit: the optimizer's state, the oracle's, the log position. */
export interface RunCheckpoint {
  iterations: number;
  optimizer: unknown;
  oracle: OracleState;
  /** Seconds the run had spent at this checkpoint (all segments), and its segment number. */
  seconds?: number;
  segment?: number;
}

export interface DriverOptions {
  budget: Budget;
  /** Called after every completed outer iteration, before the checkpoint of that iteration is taken. */
  onIteration?(record: IterationRecord, theta: Float64Array): void | Promise<void>;
  /** Polled before every step and inside steps; true stops with 'interrupted'. */
  shouldStop?(): boolean;
  /** Hand a checkpoint to `onCheckpoint` every this many iterations, and when interrupted (0 = never). */
  checkpointEvery?: number;
  onCheckpoint?(checkpoint: RunCheckpoint): void | Promise<void>;
  /** Continue from this checkpoint (its oracle state is restored here) instead of θ₀. */
  resume?: RunCheckpoint;
}

const NAMES = { gradNorm: '‖z‖ (the hypergradient norm)', epsilon: 'the lower-level accuracy ε', delta: 'the CG accuracy δ' } as const;

/**
 * What of a step is not finite: θ, ‖z‖, ε, δ, or an infinite upper loss (NaN there means "not known yet": a stochastic
 * MAID batch without a step before the first accepted one).
 */
function numericalFault(theta: Float64Array, record?: StepRecord): string | undefined {
  const bad = theta.findIndex((t) => !Number.isFinite(t));
  if (bad >= 0) return `θ[${bad}] is ${theta[bad]}`;
  if (!record) return undefined;
  for (const key of ['gradNorm', 'epsilon', 'delta'] as const) if (!Number.isFinite(record[key])) return `${NAMES[key]} is ${record[key]}`;
  if (record.upperLoss === Infinity || record.upperLoss === -Infinity) return `the upper loss is ${record.upperLoss}`;
  return undefined;
}

/**
 * The one optimizer loop: state = init(θ₀) (or the checkpoint's), then step until a step or the budget says stop.
 * After each iteration it logs, and — when checkpointing — snapshots the optimizer and oracle states at that iteration
 * boundary, so a run interrupted inside a step is saved at the last completed iteration.
 */
export async function runOptimizer<S>(optimizer: OuterOptimizer<S>, oracle: Oracle, theta0: Float64Array, o: DriverOptions): Promise<OptimizerResult> {
  let iterations = 0;
  let state: S;
  if (o.resume) {
    await oracle.restoreState(o.resume.oracle);
    state = structuredClone(o.resume.optimizer) as S;
    iterations = o.resume.iterations;
  } else state = optimizer.init(Float64Array.from(theta0), oracle);
  const rules = new StopRules(o.budget, oracle.counters, o.shouldStop, o.resume?.seconds ?? 0);
  const segment = (o.resume?.segment ?? 0) + 1;
  const segmentStart = Date.now();
  const every = o.checkpointEvery ?? 0;
  let snapshot: RunCheckpoint | undefined;
  const finish = async (stop: { reason: OptimizerResult['stopReason']; message: string }): Promise<OptimizerResult> => {
    if (stop.reason === 'interrupted' && snapshot) await o.onCheckpoint?.(snapshot);
    return { theta: optimizer.theta(state), stopReason: stop.reason, message: stop.message, iterations };
  };
  for (;;) {
    const before = rules.check(iterations);
    if (before) return finish(before);
    const result = await optimizer.step(oracle, state, { check: () => rules.check(iterations), get seconds() { return rules.seconds; } });
    // A NaN or Inf in θ or the iteration's numbers ends the run at the last good state (not logged, not checkpointed).
    const fault = numericalFault(optimizer.theta(result.state), result.record);
    if (fault) return finish({ reason: 'numerical-error', message: `iteration ${iterations + 1}: ${fault}; θ and the checkpoint are those of iteration ${iterations}` });
    state = result.state;
    if (result.record) {
      iterations++;
      const c = oracle.counters;
      const record: IterationRecord = {
        ...result.record, iter: iterations, seconds: rules.seconds, lowerIterations: c.lowerIterations, cgIterations: c.cgIterations, probeWork: c.probeWork,
        segment, ...(iterations === (o.resume?.iterations ?? 0) + 1 ? { segmentStart } : {}),
      };
      await o.onIteration?.(record, optimizer.theta(state));
      if (every > 0) {
        snapshot = { iterations, optimizer: structuredClone(state), oracle: await oracle.saveState(), seconds: record.seconds, segment };
        if (iterations % every === 0) await o.onCheckpoint?.(snapshot);
      }
    }
    if (result.stop) return finish(result.stop);
  }
}
