import type { Budget, IterationRecord, OptimizerResult, OuterOptimizer } from '../contracts/optimizer.js';
import type { Oracle, OracleState } from '../contracts/oracle.js';
import { StopRules } from './stop-rules.js';

/** Everything needed to continue a run bit-for-bit: the optimizer's state, the oracle's, the log position. */
export interface RunCheckpoint {
  iterations: number;
  optimizer: unknown;
  oracle: OracleState;
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
  const rules = new StopRules(o.budget, oracle.counters, o.shouldStop);
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
    state = result.state;
    if (result.record) {
      iterations++;
      const c = oracle.counters;
      const record = { ...result.record, iter: iterations, seconds: rules.seconds, lowerIterations: c.lowerIterations, cgIterations: c.cgIterations, probeWork: c.probeWork };
      await o.onIteration?.(record, optimizer.theta(state));
      if (every > 0) {
        snapshot = { iterations, optimizer: structuredClone(state), oracle: await oracle.saveState() };
        if (iterations % every === 0) await o.onCheckpoint?.(snapshot);
      }
    }
    if (result.stop) return finish(result.stop);
  }
}
