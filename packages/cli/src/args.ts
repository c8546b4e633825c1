// The pieces every `bilevel` command declares its options with (commander): value checks, shared options, and the
// error/exit behaviour (a usage error names the flag and the command's --help, and exits 2).
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { BACKENDS } from '@bilevel/core';

/** Exit status of a usage error (unknown flag or command, missing or invalid value). */
export const USAGE_EXIT = 2;

/** A whole number ≥ `min` (commander value parser); anything else is a usage error naming the expected form. */
export function integer(min = 0): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected a whole number ≥ ${min}, e.g. ${Math.max(min, 5)}`);
    return n;
  };
}

/** A value that is not itself a flag (`--out --force` is a missing value, not a folder named "--force"). */
export function text(value: string): string {
  if (value.startsWith('--')) throw new InvalidArgumentError(`expected a value, got the flag ${value} (the option's value is missing)`);
  return value;
}

/** Repeated `--plugin <package>`: every value, in order. */
const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), text(value)];

/** Options shared by several commands, declared once. */
export const options = {
  out: (what: string) => new Option('--out <dir>', what).argParser(text),
  backend: (what = 'tensor backend (default: the config\'s "backend", else BILEVEL_BACKEND, else wasm)') =>
    new Option('--backend <name>', what).choices(BACKENDS),
  engine: (what: string) => new Option('--engine <url>', `${what} (redis://[:password@]host:port; default: BILEVEL_ENGINE)`).argParser(text),
  force: (what: string) => new Option('--force', what),
  quiet: () => new Option('--quiet', 'print nothing but errors and warnings'),
  plugin: () => new Option('--plugin <package>', 'load a plugin package (repeatable)').argParser(collect),
  int: (flags: string, what: string, min = 0) => new Option(flags, what).argParser(integer(min)),
};

/**
 * Gives `cmd` the CLI's error behaviour: errors are thrown as CommanderError (main turns them into exit codes) and
 * printed as "bilevel <command>: <problem>" followed by a pointer to that command's --help.
 */
export function configure(cmd: Command, path: string, lists = 'its arguments and options'): Command {
  return cmd
    .exitOverride()
    .helpOption('-h, --help', 'show this help')
    .configureHelp({ sortSubcommands: false, helpWidth: Math.min(110, process.stdout.columns || 110) })
    .configureOutput({ outputError: (str, write) => write(`${path}: ${str.replace(/^error: /, '')}`) })
    .showHelpAfterError(`  → \`${path} --help\` lists ${lists}`);
}

/** The exit status for a CommanderError: 0 after --help / --version, USAGE_EXIT for a usage error. */
export function exitStatus(e: CommanderError): number {
  return e.exitCode === 0 ? 0 : USAGE_EXIT;
}

export { Command, CommanderError, Option };
