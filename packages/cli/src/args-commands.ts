// Every `bilevel` command, declared once (commander): its arguments and options, from which both its parsing and its
// --help come, and the call into the command's implementation (imported when the command runs: --help and usage
// errors answer without loading TensorFlow.js, the experiment or the engine).
import { readFileSync } from 'node:fs';
import { BilevelError } from '@bilevel/core';
import { Command, configure, Option, options, text } from './args.js';
import { PROGRESS_LEGEND } from './progress.js';
import { STOP_REASONS_HELP } from './stop-reasons.js';

/** Records a command's exit status (commander ignores what an action returns). */
export type Done = (code: number) => void;

interface RunFlags {
  default?: boolean; out?: string; backend?: string; seed?: number; force?: boolean; quiet?: boolean;
  checkpointEvery: number; testEvery: number; workers?: number; shards?: number; engine?: string;
}

const RUN_EXAMPLES = `
Examples:
  bilevel run --default --out runs/demo                      the built-in demo (TV denoising, synthetic images)
  bilevel run examples/tv-denoising-kodak96.json --out runs/kodak96 --seed 3
  bilevel run examples/foe-denoising-small.json --out runs/foe --engine redis://:PASSWORD@host:6379`;

function run(done: Done): Command {
  return configure(new Command('run'), 'bilevel run')
    .summary('learn θ for one experiment config and write the results to --out')
    .description('Learn the regularizer parameters θ for one experiment (a config file, or --default) and write summary.json, iterations.jsonl, theta.json, example figures and report.html to --out. A killed or stopped run continues with `bilevel resume <dir>`.')
    .argument('[config]', 'experiment config, JSON (`bilevel schema` prints its JSON Schema)')
    .addOption(new Option('--default', 'run the built-in synthetic TV-denoising experiment instead of a config file'))
    .addOption(options.out('output folder (required): summary.json, iterations.jsonl, theta.json, figures, report.html'))
    .addOption(options.backend())
    .addOption(options.int('--seed <n>', 'replace the config\'s "seed" (data, noise and initial θ)'))
    .addOption(options.force('empty a non-empty --out first (without it a second run into the same folder is refused)'))
    .addOption(options.quiet())
    .addOption(options.int('--checkpoint-every <n>', 'save a checkpoint every n outer iterations (0: only on SIGINT/SIGTERM)').default(5))
    .addOption(options.int('--test-every <m>', 'add test PSNR/SSIM to iterations.jsonl every m iterations (0: only at the end)').default(0))
    .addOption(options.int('--workers <n>', 'worker threads for the training oracle (default: 0, in-process)'))
    .addOption(options.int('--shards <s>', 'image shards for --workers (default: CPU cores) or --engine (default: 4)', 1))
    .addOption(options.engine('send the training oracle\'s shard jobs to bilevel workers on this engine'))
    .addHelpText('after', `\n${PROGRESS_LEGEND}\n\n${STOP_REASONS_HELP}\n${RUN_EXAMPLES}`)
    .action(async (config: string | undefined, o: RunFlags) => {
      if (!o.default && !config) throw new BilevelError('run needs a config file or --default', 'e.g. `bilevel run --default --out runs/demo`; `bilevel run --help` lists the options');
      if (o.out === undefined) throw new BilevelError('run needs --out <dir>', 'name the folder for summary.json, iterations.jsonl and figures');
      const { runCommand } = await import('./run.js');
      await runCommand({
        config, useDefault: Boolean(o.default), out: o.out, backend: o.backend, seed: o.seed, force: Boolean(o.force), quiet: Boolean(o.quiet),
        checkpointEvery: o.checkpointEvery, testEvery: o.testEvery, workers: o.workers, shards: o.shards, engine: o.engine,
      });
      done(0);
    });
}

function resume(done: Done): Command {
  return configure(new Command('resume'), 'bilevel resume')
    .summary('continue a stopped or killed run from its last checkpoint')
    .description('Continue a stopped or killed `bilevel run` from its last checkpoint, with the config, data and backend its run.json records; the result is the θ of an uninterrupted run.')
    .argument('<dir>', 'the --out folder of the run')
    .addOption(options.backend('continue on this backend instead of the run\'s (θ then agrees to that backend\'s float32 round-off)'))
    .addOption(options.engine('the engine the run used (needed again when it used one)'))
    .addOption(options.quiet())
    .action(async (dir: string, o: { backend?: string; engine?: string; quiet?: boolean }) => {
      const { resumeCommand } = await import('./run.js');
      await resumeCommand(dir, Boolean(o.quiet), o.backend, o.engine);
      done(0);
    });
}

function validate(done: Done): Command {
  return configure(new Command('validate'), 'bilevel validate')
    .summary('check a config and its data without running it')
    .description('Check a config: every field, the plugins it names and their options, and its data (folders, sizes, counts). Runs nothing; prints "<file>: valid (<name>)" or every problem at once.')
    .argument('<config>', 'experiment config, JSON')
    .addOption(options.backend())
    .action(async (file: string, o: { backend?: string }) => {
      const { validateCommand } = await import('./inspect.js');
      await validateCommand(file, o.backend);
      done(0);
    });
}

function report(done: Done): Command {
  return configure(new Command('report'), 'bilevel report')
    .summary('a self-contained HTML report of one run or several overlaid')
    .description('A self-contained HTML report (Vega-Lite figures, tables, example images) of one run, or of several overlaid. Figures are also written as SVG, and as PNG when /usr/bin/chromium is installed.')
    .argument('<dirs...>', 'run folders (the --out of `bilevel run`, or the per-job folders of a sweep)')
    .addOption(new Option('--out <file.html>', 'where to write it (default: <dir>/report.html for one run, ./report.html for several)').argParser(text))
    .addOption(new Option('--screenshot <page.png>', 'also save a PNG of the whole page (needs /usr/bin/chromium)').argParser(text))
    .addOption(options.quiet())
    .action(async (dirs: string[], o: { out?: string; screenshot?: string; quiet?: boolean }) => {
      const { reportCommand } = await import('./report/index.js');
      await reportCommand(dirs, o.out, { quiet: Boolean(o.quiet), pageScreenshot: o.screenshot });
      done(0);
    });
}

function plugins(done: Done): Command {
  return configure(new Command('plugins'), 'bilevel plugins')
    .summary('list the registered plugins and their options')
    .description('List every registered plugin (operators, regularizers, solvers, optimizers, oracles) with its options.')
    .addOption(options.plugin())
    .action(async (o: { plugin?: string[] }) => {
      const { pluginsCommand } = await import('./inspect.js');
      await pluginsCommand(o.plugin ?? []);
      done(0);
    });
}

function schema(done: Done): Command {
  return configure(new Command('schema'), 'bilevel schema')
    .summary('print the JSON Schema of config files')
    .description('Print the JSON Schema of config files, with every registered plugin\'s options (for editors: `bilevel schema > bilevel.schema.json`).')
    .addOption(options.plugin())
    .action(async (o: { plugin?: string[] }) => {
      const { schemaCommand } = await import('./inspect.js');
      await schemaCommand(o.plugin ?? []);
      done(0);
    });
}

function worker(done: Done): Command {
  return configure(new Command('worker'), 'bilevel worker')
    .summary('serve an engine\'s shard and sweep jobs until SIGINT/SIGTERM')
    .description('Serve the engine\'s shard jobs (of runs with --engine) and sweep jobs until SIGINT/SIGTERM, then finish the jobs in hand and exit 0. One per machine; docs/distributed.md.')
    .addOption(options.engine('the engine to serve'))
    .addOption(options.int('--concurrency <n>', 'jobs at once (default: 1)', 1))
    .addOption(options.plugin())
    .addOption(options.int('--max-job-mb <m>', 'largest job payload accepted, in MiB (default: 16)'))
    .addOption(options.quiet())
    .action(async (o: { engine?: string; concurrency?: number; plugin?: string[]; maxJobMb?: number; quiet?: boolean }) => {
      const { workerCommand } = await import('./worker.js');
      await workerCommand({ engine: o.engine, concurrency: o.concurrency, plugins: o.plugin ?? [], maxJobMb: o.maxJobMb, quiet: Boolean(o.quiet) });
      done(0);
    });
}

function sweep(done: Done): Command {
  return configure(new Command('sweep'), 'bilevel sweep')
    .summary('run a base config × overrides × seeds, one job each')
    .description('Run one job per override and seed of a sweep file (docs/sweeps.md), on the engine\'s workers or here; writes a folder per job, table.md / table.csv, loss.svg and psnr.svg to --out. Running it again skips finished jobs.')
    .argument('<sweep>', 'sweep file, JSON')
    .addOption(options.out('output folder (required)'))
    .addOption(options.engine('run the jobs on this engine\'s workers (without: in this process)'))
    .addOption(options.force('empty --out and run every job again'))
    .addOption(options.quiet())
    .addHelpText('after', `\n${STOP_REASONS_HELP}`)
    .action(async (file: string, o: { out?: string; engine?: string; force?: boolean; quiet?: boolean }) => {
      if (o.out === undefined) throw new BilevelError('sweep needs --out <dir>', 'name the folder for the per-job results, table and plots');
      const { sweepCommand } = await import('./sweep.js');
      await sweepCommand({ file, out: o.out, engine: o.engine, force: Boolean(o.force), quiet: Boolean(o.quiet) });
      done(0);
    });
}

function data(done: Done): Command {
  const cmd = configure(new Command('data'), 'bilevel data', 'its commands')
    .summary('list or fetch the image data sets the example configs use')
    .description('The image data sets the example configs use: `bilevel data list` shows them, `bilevel data fetch <name>` gets one.');
  const data = async (args: string[], flags: Record<string, string | true>) => (await import('./data-command.js')).dataCommand(args, flags);
  cmd.addCommand(configure(new Command('list'), 'bilevel data list')
    .summary('list the known data sets and whether each is in the cache (BILEVEL_DATA_DIR)')
    .description('List the known data sets: images, sizes, bytes, and whether each is in the cache (BILEVEL_DATA_DIR).')
    .action(async () => done(await data(['list'], {}))));
  cmd.addCommand(configure(new Command('fetch'), 'bilevel data fetch')
    .summary('download a data set into the cache, each file checked against the manifest')
    .description('Download a data set into the cache (BILEVEL_DATA_DIR), each file checked against the manifest; from BILEVEL_DATA_MIRROR first when it is set.')
    .argument('<name>', 'data set name, as `bilevel data list` shows it')
    .addOption(options.force('fetch it again even when it is already here'))
    .action(async (name: string, o: { force?: boolean }) => done(await data(['fetch', name], o.force ? { force: true } : {}))));
  return cmd;
}

const version = (): string => (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** The `bilevel` program: every command; `done` receives the exit status of the one that ran. */
export function bilevelProgram(done: Done): Command {
  const program = configure(new Command('bilevel'), 'bilevel', 'the commands')
    .description('Bilevel learning of variational regularizers for imaging inverse problems: learns the parameters θ of a regularizer so that the reconstructions of degraded training images come as close as possible to the clean ones.')
    .version(version(), '-V, --version', 'print the version')
    .addHelpText('after', '\nRun `bilevel <command> --help` for the arguments and options of a command. More: docs/running.md');
  for (const make of [run, resume, validate, report, plugins, schema, worker, sweep, data]) program.addCommand(make(done));
  return program;
}
