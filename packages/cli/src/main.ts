#!/usr/bin/env node
// The `bilevel` command: parses the arguments (./args-commands.ts declares every command) and turns the outcome into an
// exit status: 0 done, 1 an error the command explains (BilevelError), 2 a usage error (unknown flag, missing value).
import { BilevelError } from '@bilevel/core';
import { CommanderError, exitStatus } from './args.js';
import { bilevelProgram } from './args-commands.js';

async function main(argv: string[]): Promise<number> {
  let code = 0;
  try {
    await bilevelProgram((c) => { code = c; }).parseAsync(argv, { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) return exitStatus(e);
    throw e;
  }
}

/** Exits once stdout has been flushed (a bare process.exit cuts output piped to another program, e.g. `bilevel schema | jq`). */
const exitAfterFlush = (code: number) => process.stdout.write('', () => process.exit(code));

main(process.argv.slice(2)).then(
  (code) => exitAfterFlush(code),
  (e: unknown) => {
    const err = e as Error;
    process.stderr.write(`bilevel: ${err instanceof BilevelError ? err.message : err.stack ?? String(err)}\n`);
    exitAfterFlush(1);
  },
);
