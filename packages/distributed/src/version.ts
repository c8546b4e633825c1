import { BilevelError } from '@bilevel/core';
import { runManifest } from '@bilevel/experiment';

/** What code computes: every `@bilevel/*` package's version, tfjs's, and the git commit of the current folder (if any). */
export interface CodeIdentity {
  packages: Record<string, string | undefined>;
  gitCommit: string | null;
}

let identity: CodeIdentity | undefined;

export function codeIdentity(): CodeIdentity {
  if (!identity) {
    const { packages, gitCommit } = runManifest();
    identity = { packages, gitCommit: gitCommit ?? null };
  }
  return identity;
}

/** A worker whose code differs from the run's (its numbers would differ): it refuses the run's jobs. */
export class CodeMismatchError extends BilevelError {}

/**
 * Throws CodeMismatchError unless `run` is this process's code: the same package versions and, when both know one, the
 * same git commit (uncommitted edits are not seen).
 */
export function checkSameCode(run: CodeIdentity, here: CodeIdentity = codeIdentity()): void {
  const names = new Set([...Object.keys(run.packages), ...Object.keys(here.packages)]);
  const differ = [...names].filter((n) => run.packages[n] !== here.packages[n]).map((n) => `${n} ${run.packages[n] ?? '—'} (run) vs ${here.packages[n] ?? '—'} (worker)`);
  if (run.gitCommit && here.gitCommit && run.gitCommit !== here.gitCommit) differ.push(`git commit ${run.gitCommit.slice(0, 12)} (run) vs ${here.gitCommit.slice(0, 12)} (worker)`);
  if (differ.length) throw new CodeMismatchError(`this worker runs other code than the run: ${differ.join('; ')}`, 'check out and build the same commit on the worker and the coordinator, then restart the worker');
}
