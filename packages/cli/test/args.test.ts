import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IterationRecord, StopReason } from '@bilevel/core';
import { decodePng } from '@bilevel/datasets';
import { describe, expect, it } from 'vitest';
import { PROGRESS_LEGEND, PROGRESS_LEGEND_LINE, Progress } from '../src/progress.js';
import { outcomeCounts, stopOutcome, STOP_REASONS_HELP } from '../src/stop-reasons.js';
import { MAIN, ROOT, tempDir, writeJson } from './cli.js';

/** Runs the built `bilevel` command without blocking the test worker (so the help and error checks run concurrently). */
function bilevel(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, CI: '1', BILEVEL_REPORT_PNG: '0' }, timeout: 120_000 },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }));
  });
}

/** Every command with the flags it has always accepted (the hand-written parser's USAGE) and the new `data`. */
const FLAGS: Record<string, string[]> = {
  run: ['--default', '--out', '--backend', '--seed', '--force', '--quiet', '--checkpoint-every', '--test-every', '--workers', '--shards', '--engine'],
  resume: ['--backend', '--engine', '--quiet'],
  validate: ['--backend'],
  report: ['--out', '--screenshot', '--quiet'],
  plugins: ['--plugin'],
  schema: ['--plugin'],
  worker: ['--engine', '--concurrency', '--plugin', '--max-job-mb', '--quiet'],
  sweep: ['--out', '--engine', '--force', '--quiet'],
  data: ['list', 'fetch'],
};

describe.concurrent('bilevel --help and <command> --help', () => {
  it('lists every command', async () => {
    const r = await bilevel(['--help']);
    expect(r.code).toBe(0);
    for (const c of Object.keys(FLAGS)) expect(r.stdout).toMatch(new RegExp(`^  ${c} `, 'm'));
    expect(r.stdout).toContain('bilevel <command> --help');
  });

  for (const [command, flags] of Object.entries(FLAGS)) {
    it(`${command} --help shows its usage and every option it accepts`, async () => {
      const r = await bilevel([command, '--help']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^Usage: bilevel ${command} `));
      for (const f of flags) expect(r.stdout).toMatch(new RegExp(`^  ${f}\\b`, 'm'));
    });
  }

  it('run --help explains the progress line and the stop reasons', async () => {
    const r = await bilevel(['run', '--help']);
    for (const field of ['iter', 't', 'loss', 'psnr', 'ε', '‖z‖', 'α', 'lower', 'cg']) expect(r.stdout).toMatch(new RegExp(`^  ${field} +\\S`, 'm'));
    for (const reason of ['converged', 'accuracy-floor', 'max-iterations', 'budget', 'interrupted']) expect(r.stdout).toMatch(new RegExp(`^  ${reason} +\\S`, 'm'));
  });

  it('bilevel data fetch --help names the argument and --force; `bilevel help run` is run --help', async () => {
    const r = await bilevel(['data', 'fetch', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: bilevel data fetch \[options\] <name>/);
    expect(r.stdout).toContain('--force');
    expect((await bilevel(['help', 'run'])).stdout).toBe((await bilevel(['run', '--help'])).stdout);
  });
});

describe.concurrent('usage errors exit 2 naming the flag and the command\'s help', () => {
  for (const command of Object.keys(FLAGS)) {
    it(`${command} --bogus-flag`, async () => {
      const r = await bilevel([command, '--bogus-flag']);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("unknown option '--bogus-flag'");
      expect(r.stderr).toContain(`\`bilevel ${command} --help\``);
    });
  }

  it('a misspelt flag is refused (with a suggestion) before anything is written', async () => {
    const out = join(tempDir(), 'run');
    const r = await bilevel(['run', '--default', '--out', out, '--sed', '3']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bilevel run: unknown option '--sed'\n\(Did you mean --seed\?\)/);
    expect(existsSync(out)).toBe(false);
  });

  const cases: [string, string[], RegExp][] = [
    ['a non-integer', ['run', '--default', '--out', 'x', '--seed', 'three'], /--seed <n>' argument 'three' is invalid\. expected a whole number/],
    ['a negative integer', ['run', '--default', '--out', 'x', '--checkpoint-every', '-1'], /--checkpoint-every <n>' argument '-1' is invalid/],
    ['zero where at least 1 is needed', ['worker', '--concurrency', '0'], /--concurrency <n>' argument '0' is invalid\. expected a whole number ≥ 1/],
    ['an unknown backend', ['run', '--default', '--out', 'x', '--backend', 'cuda'], /Allowed choices are wasm, cpu, tensorflow, webgpu/],
    ['a missing value', ['run', '--default', '--out'], /option '--out <dir>' argument missing/],
    ['a flag where a value belongs', ['run', '--default', '--out', '--force'], /got the flag --force/],
    ['a missing argument', ['resume'], /missing required argument 'dir'/],
    ['too many arguments', ['validate', 'a.json', 'b.json'], /too many arguments/],
    ['an unknown command', ['trian'], /unknown command 'trian'/],
  ];
  for (const [what, args, message] of cases) {
    it(what, async () => {
      const r = await bilevel(args);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toMatch(/--help` lists/);
      expect(existsSync('x')).toBe(false);
    });
  }

  it('no command prints the help and exits 2; --version prints the version', async () => {
    const r = await bilevel([]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^Usage: bilevel /);
    expect((await bilevel(['--version'])).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

describe.concurrent('what a run prints', () => {
  it('the progress legend names every field of the progress line', () => {
    const lines: string[] = [];
    const out = { isTTY: false, write: (s: string) => lines.push(s) } as unknown as NodeJS.WriteStream;
    const record = { iter: 3, seconds: 1, upperLoss: 1.5, psnr: 30, epsilon: 1e-3, delta: 1e-3, omega: 0, gradNorm: 0.1, step: 0.5, backtracks: 0, lowerIterations: 40, cgIterations: 9 } as IterationRecord;
    new Progress(10, undefined, out).update(record);
    const labels = lines[0].trim().split(' ').filter((token) => !/^[\d.e+-]+s?$|^dB$/.test(token));
    expect(labels).toEqual(['iter', 't', 'loss', 'psnr', 'ε', '‖z‖', 'α', 'lower', 'cg']);
    for (const label of labels) {
      expect(PROGRESS_LEGEND).toMatch(new RegExp(`^  ${label} +\\S`, 'm'));
      expect(PROGRESS_LEGEND_LINE).toContain(`${label} = `);
    }
  });

  it('stop reasons read as outcomes and keep the reason', () => {
    const reasons: StopReason[] = ['converged', 'accuracy-floor', 'max-iterations', 'budget', 'interrupted', 'numerical-error'];
    for (const r of reasons) {
      expect(stopOutcome(r)).toContain(`(${r})`);
      expect(STOP_REASONS_HELP).toMatch(new RegExp(`^  ${r} +\\S`, 'm'));
    }
    expect(stopOutcome('accuracy-floor', 'maid')).toBe('ended normally: the accuracy MAID needs reached the float32 limit (accuracy-floor)');
    expect(outcomeCounts(['converged', 'budget', 'converged'])).toEqual([`  2 jobs: ${stopOutcome('converged')}`, `  1 job: ${stopOutcome('budget')}`]);
  });

  it('prints the legend once before the first iteration, the outcome with summary.json\'s reason, and labelled figures', async () => {
    const dir = tempDir();
    const config = { seed: 1, data: { train: { source: 'synthetic', count: 2, size: [16, 16] }, noise: { sigma: 0.1 } }, regularizer: { name: 'tv' }, budget: { maxIterations: 2 } };
    const out = join(dir, 'run');
    const r = await bilevel(['run', writeJson(dir, 'tiny.json', config), '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const err = r.stderr.trim().split('\n');
    expect(err.filter((l) => l.startsWith('legend: '))).toEqual([PROGRESS_LEGEND_LINE]);
    expect(err.findIndex((l) => l.startsWith('legend: '))).toBeLessThan(err.findIndex((l) => l.startsWith('iter 1 ')));
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(summary.stopReason).toBe('max-iterations'); // the machine-readable reason, unchanged
    expect(r.stdout).toContain(`${stopOutcome('max-iterations', 'maid')}\n  after 2 outer iterations in `);
    expect(r.stdout).not.toMatch(/^stopped:/m);
    const png = decodePng(readFileSync(join(out, 'train-examples.png')));
    expect(png.width).toBeGreaterThan(3 * 16 + 2 * 4); // columns widened for their titles
    const quiet = await bilevel(['run', writeJson(dir, 'tiny.json', config), '--out', join(dir, 'quiet'), '--quiet']);
    expect(quiet.stderr).toBe('');
  });
});
