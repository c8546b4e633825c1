import type { Budget, Stop } from '../contracts/optimizer.js';
import type { OracleCounters } from '../contracts/oracle.js';

/** The shared stopping rules: interruption, iteration count and work/time budgets. */
export class StopRules {
  private readonly t0 = performance.now();
  constructor(
    private readonly budget: Budget,
    private readonly counters: OracleCounters,
    private readonly shouldStop?: () => boolean,
    /** Seconds already spent by earlier segments of the run (a resume's checkpoint). */
    private readonly offset = 0,
  ) {}

  get seconds(): number {
    return this.offset + (performance.now() - this.t0) / 1000;
  }

  /** A reason to stop before starting iteration `iter` (0-based), or undefined. */
  check(iter: number): Stop | undefined {
    if (this.shouldStop?.()) return { reason: 'interrupted', message: 'stopped on request' };
    if (iter >= this.budget.maxIterations) return { reason: 'max-iterations', message: `reached ${this.budget.maxIterations} outer iterations` };
    const inner = this.counters.lowerIterations + this.counters.cgIterations;
    if (this.budget.maxInnerIterations !== undefined && inner >= this.budget.maxInnerIterations) {
      return { reason: 'budget', message: `spent ${inner} lower-level + CG iterations (budget ${this.budget.maxInnerIterations})` };
    }
    if (this.budget.maxSeconds !== undefined && this.seconds >= this.budget.maxSeconds) {
      return { reason: 'budget', message: `ran ${this.seconds.toFixed(1)} s (budget ${this.budget.maxSeconds} s)` };
    }
    return undefined;
  }
}
