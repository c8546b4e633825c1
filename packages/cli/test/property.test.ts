// Property: the CLI's flag parser (commander, ./args-commands.ts) given any argv either parses it or refuses it with
// a usage error (CommanderError, exit 2; or 0 for --help / --version), never anything else. fast-check, fixed seed.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Command, CommanderError, exitStatus } from '../src/args.js';
import { bilevelProgram } from '../src/args-commands.js';

const SEED = 24;

/** The program with every action replaced by a no-op and its output silenced: only parsing runs. */
function parserOnly(): Command {
  const program = bilevelProgram(() => {});
  const quiet = (c: Command) => {
    c.configureOutput({ writeOut: () => {}, writeErr: () => {}, outputError: () => {} });
    if (c !== program) c.action(() => {});
    c.commands.forEach(quiet);
  };
  quiet(program);
  return program;
}

const WORDS = ['run', 'resume', 'validate', 'report', 'plugins', 'schema', 'worker', 'sweep', 'data', 'list', 'fetch', 'help',
  '--default', '--out', '--backend', 'wasm', 'cuda', '--seed', '--force', '--quiet', '--checkpoint-every', '--test-every', '--workers',
  '--shards', '--engine', '--concurrency', '--plugin', '--max-job-mb', '--screenshot', '--help', '-h', '-V', '--version', '--', '-', '0', '-1', '1.5', ''];
const argv = fc.array(fc.oneof(fc.constantFrom(...WORDS), fc.string({ maxLength: 12 }), fc.integer().map(String)), { maxLength: 8 });

describe(`bilevel's flag parser on arbitrary argv (fast-check seed ${SEED})`, () => {
  it('parses or throws a CommanderError with exit 0 or 2', async () => {
    let refused = 0;
    await fc.assert(fc.asyncProperty(argv, async (args) => {
      try {
        await parserOnly().parseAsync(args, { from: 'user' });
      } catch (e) {
        expect(e, `${String(e)} for ${JSON.stringify(args)}`).toBeInstanceOf(CommanderError);
        expect([0, 2], JSON.stringify(args)).toContain(exitStatus(e as CommanderError));
        refused++;
      }
    }), { seed: SEED, numRuns: 300 });
    expect(refused).toBeGreaterThan(0);
  });
});
