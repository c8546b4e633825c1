#!/usr/bin/env node
import { BilevelError, optionListing, PLUGIN_KINDS, useBackend } from '@bilevel/core';
import { buildExperiment, configDir, configJsonSchema, defaultRegistry, ORACLE_CHOICES, parseConfig } from '@bilevel/experiment';
import { reportCommand } from './report/index.js';
import { readConfig, resumeCommand, runCommand } from './run.js';
import { sweepCommand } from './sweep.js';
import { workerCommand } from './worker.js';

const USAGE = `usage:
  bilevel run <config.json> --out <dir> [--backend wasm|cpu|tensorflow|webgpu] [--seed N] [--force] [--quiet]
  bilevel run --default --out <dir> [...]     the embedded synthetic TV-denoising experiment
      [--checkpoint-every N] (default 5)  [--test-every M] (test PSNR in iterations.jsonl every M iterations)
      [--workers N] (worker threads for the training oracle; default 0 = in-process)  [--shards S] (default: CPU cores)
      [--engine redis://[:password@]host:port] (or BILEVEL_ENGINE: shard jobs go to bilevel workers; --shards default 4)
  bilevel resume <dir> [--backend NAME] [--engine URL]
                                               continue a stopped or killed run from its last checkpoint (on its backend)
  bilevel sweep <sweep.json> --out <dir> [--engine URL] [--force] [--quiet]
                                               one job per override and seed (docs/sweeps.md), on the engine's workers
                                               or here; per-job folders, table.md/.csv, loss.svg, psnr.svg in <dir>
  bilevel worker --engine URL [--concurrency N] [--plugin <package> ...] [--max-job-mb M]
                                               serve the engine's shard and sweep jobs until SIGINT/SIGTERM
  bilevel validate <config.json>               check a config (and its data) without running it
  bilevel report <dir> [<dir> ...] [--out <file.html>] [--screenshot <page.png>]
                                               self-contained HTML report (Vega-Lite) of one run or several
                                               overlaid; default <dir>/report.html (one run) or ./report.html;
                                               figures also as SVG, and PNG when /usr/bin/chromium is installed
  bilevel plugins [--plugin <package> ...]     list the registered plugins
  bilevel schema [--plugin <package> ...]      print the JSON Schema of config files (with every plugin's options)`;

function parseArgs(argv: string[]) {
  const positional: string[] = [];
  const flags: Record<string, string | true> = {};
  const plugins: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) positional.push(a);
    else if (['--default', '--force', '--quiet', '--help'].includes(a)) flags[a.slice(2)] = true;
    else {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new BilevelError(`option ${a} needs a value`, USAGE);
      if (a === '--plugin') plugins.push(v);
      else flags[a.slice(2)] = v;
    }
  }
  return { positional, flags, plugins };
}

function intFlag(flags: Record<string, string | true>, name: string): number | undefined {
  const v = flags[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new BilevelError(`--${name} must be a non-negative integer, got "${v}"`, `pass e.g. --${name} 5`);
  return n;
}

function stringFlag(flags: Record<string, string | true>, name: string): string | undefined {
  const v = flags[name];
  return typeof v === 'string' ? v : undefined;
}

/** `bilevel plugins`: every registered plugin with its options, then the oracles a config can name. */
async function listPlugins(packages: string[]): Promise<void> {
  const registry = await defaultRegistry(packages);
  const entry = (name: string, description: string, options: Readonly<Record<string, string>> = {}, count = '') => {
    process.stdout.write(`  ${name.padEnd(16)} ${description}${count}\n`);
    for (const [opt, doc] of Object.entries(options)) process.stdout.write(`      ${opt}: ${doc}\n`);
  };
  for (const kind of PLUGIN_KINDS) {
    process.stdout.write(`${kind}:\n`);
    for (const name of registry.names(kind)) {
      const d = registry.descriptor(kind, name);
      entry(name, d.description, d.options, d.parameterCount !== undefined ? ` [${d.parameterCount} parameters]` : '');
    }
  }
  process.stdout.write('oracle:\n');
  for (const o of ORACLE_CHOICES) entry(o.name, o.description, optionListing(o.schema));
}

async function main(argv: string[]): Promise<number> {
  const { positional, flags, plugins } = parseArgs(argv);
  const [command, file] = positional;
  if (!command || flags.help) {
    process.stdout.write(USAGE + '\n');
    return command || flags.help ? 0 : 2;
  }
  switch (command) {
    case 'run': {
      if (!flags.default && !file) throw new BilevelError('run needs a config file or --default', USAGE);
      if (typeof flags.out !== 'string') throw new BilevelError('run needs --out <dir>', 'name the folder for summary.json, iterations.jsonl and figures');
      await runCommand({
        config: file, useDefault: Boolean(flags.default), out: flags.out, backend: flags.backend as string | undefined,
        seed: intFlag(flags, 'seed'), force: Boolean(flags.force), quiet: Boolean(flags.quiet),
        checkpointEvery: intFlag(flags, 'checkpoint-every'), testEvery: intFlag(flags, 'test-every'),
        workers: intFlag(flags, 'workers'), shards: intFlag(flags, 'shards'), engine: stringFlag(flags, 'engine'),
      });
      return 0;
    }
    case 'resume': {
      if (!file) throw new BilevelError('resume needs the output folder of a run', USAGE);
      await resumeCommand(file, Boolean(flags.quiet), stringFlag(flags, 'backend'), stringFlag(flags, 'engine'));
      return 0;
    }
    case 'sweep': {
      if (!file) throw new BilevelError('sweep needs a sweep file', USAGE);
      if (typeof flags.out !== 'string') throw new BilevelError('sweep needs --out <dir>', 'name the folder for the per-job results, table and plots');
      await sweepCommand({ file, out: flags.out, engine: stringFlag(flags, 'engine'), force: Boolean(flags.force), quiet: Boolean(flags.quiet) });
      return 0;
    }
    case 'worker':
      await workerCommand({
        engine: stringFlag(flags, 'engine'), concurrency: intFlag(flags, 'concurrency'), plugins, maxJobMb: intFlag(flags, 'max-job-mb'), quiet: Boolean(flags.quiet),
      });
      return 0;
    case 'report': {
      const dirs = positional.slice(1);
      if (dirs.length === 0) throw new BilevelError('report needs one or more run folders', USAGE);
      await reportCommand(dirs, typeof flags.out === 'string' ? flags.out : undefined, {
        quiet: Boolean(flags.quiet), pageScreenshot: typeof flags.screenshot === 'string' ? flags.screenshot : undefined,
      });
      return 0;
    }
    case 'validate': {
      if (!file) throw new BilevelError('validate needs a config file', USAGE);
      const raw = readConfig(file);
      const config = parseConfig(raw);
      await useBackend(flags.backend as string | undefined ?? config.backend);
      await buildExperiment(raw, { baseDir: configDir(file) });
      process.stdout.write(`${file}: valid (${config.name})\n`);
      return 0;
    }
    case 'schema':
      process.stdout.write(JSON.stringify(configJsonSchema(await defaultRegistry(plugins)), null, 2) + '\n');
      return 0;
    case 'plugins':
      await listPlugins(plugins);
      return 0;
    default:
      throw new BilevelError(`unknown command "${command}"`, USAGE);
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
