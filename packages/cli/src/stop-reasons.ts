// Stop reasons worded as outcomes for people; summary.json and iterations.jsonl keep the machine-readable reason.
import type { StopReason } from '@bilevel/core';

/** The usual spelling of an optimizer's registry name in prose (maid → MAID, stochastic-maid → stochastic MAID). */
const display = (optimizer: string) => optimizer.replace(/\b(maid|hoag|isgd|dfo)\b/g, (m) => m.toUpperCase()).replace(/-/g, ' ');

/** The outcome a stop reason stands for, ending with the reason itself in parentheses. */
export function stopOutcome(reason: StopReason, optimizer?: string): string {
  const who = optimizer ? display(optimizer) : 'the optimizer';
  switch (reason) {
    case 'converged':
      return `ended normally: ${who} met its convergence test (converged)`;
    case 'accuracy-floor':
      return `ended normally: the accuracy ${who} needs reached the float32 limit (accuracy-floor)`;
    case 'max-iterations':
      return 'ended at the iteration limit of the config\'s budget (max-iterations); more iterations may improve θ';
    case 'budget':
      return 'ended when the time or work budget of the config ran out (budget); a larger budget may improve θ';
    case 'interrupted':
      return 'interrupted by SIGINT/SIGTERM (interrupted); `bilevel resume <dir>` continues from the checkpoint';
    case 'numerical-error':
      return 'stopped early: a NaN or infinity appeared (numerical-error); θ is the last good iteration\'s (a smaller step may help)';
  }
}

/** How many results ended with each reason, one line each ("  3 jobs: ended normally: … (converged)"). */
export function outcomeCounts(reasons: readonly StopReason[]): string[] {
  const counts = new Map<StopReason, number>();
  for (const r of reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
  return [...counts].map(([r, n]) => `  ${n} job${n === 1 ? '' : 's'}: ${stopOutcome(r)}`);
}

/** The stop reasons, for --help. */
export const STOP_REASONS_HELP = 'How a run ends (summary.json "stopReason"):\n' + (['converged', 'accuracy-floor', 'max-iterations', 'budget', 'interrupted', 'numerical-error'] as const)
  .map((r) => `  ${r.padEnd(16)} ${stopOutcome(r).replace(/ \([a-z-]+\)/, '')}`).join('\n');
