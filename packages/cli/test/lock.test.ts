import { spawn } from 'node:child_process';
import { existsSync, readFileSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lockRunFolder } from '../src/lock.js';
import { bilevel, MAIN, ROOT, tempDir, writeJson } from './cli.js';
import { tinyConfig } from '../../experiment/test/optimizer-configs.js';

describe('one run folder, one process', () => {
  it('a live holder whose lock was not refreshed for hours (a CPU-bound run starves timers) is still refused', async () => {
    const out = join(tempDir(), 'busy');
    const held = await lockRunFolder(out, () => {});
    const old = new Date(Date.now() - 3 * 3600 * 1000);
    utimesSync(`${out}.lock`, old, old);
    await expect(lockRunFolder(out, () => {})).rejects.toThrow(new RegExp(`busy is being written by process ${process.pid} on `));
    await held.release();
    const again = await lockRunFolder(out, () => {});
    await again.release();
  });

  it('a second run --force or resume into a live run folder is refused naming the process; after a SIGKILL resume takes the lock over', async () => {
    const base = tempDir();
    // A run long enough to be caught alive: many iterations of the tiny config.
    const config = writeJson(base, 'long.json', { ...tinyConfig('maid', 400), data: { train: { source: 'synthetic', count: 4, size: [48, 48], seed: 11 }, noise: { sigma: 0.1 } } });
    const out = join(base, 'run');
    const first = spawn(process.execPath, [MAIN, 'run', config, '--out', out, '--quiet', '--checkpoint-every', '1'], { cwd: ROOT, stdio: 'ignore', env: { ...process.env, CI: '1' } });
    const exited = new Promise<void>((r) => first.once('exit', () => r()));
    for (let i = 0; i < 400 && !existsSync(join(out, 'checkpoint.json')); i++) await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(join(out, 'checkpoint.json'))).toBe(true);
    const owner = JSON.parse(readFileSync(`${out}.lock/owner.json`, 'utf8')) as { pid: number };
    expect(owner.pid).toBe(first.pid);

    const forced = bilevel(['run', config, '--out', out, '--force', '--quiet']);
    expect(forced.code).toBe(1);
    expect(forced.stderr).toMatch(new RegExp(`run is being written by process ${first.pid} on .* two processes may not write one run folder`, 's'));
    expect(existsSync(join(out, 'checkpoint.json')), 'the refused --force emptied nothing').toBe(true);
    const resumed = bilevel(['resume', out, '--quiet']);
    expect(resumed.code).toBe(1);
    expect(resumed.stderr).toMatch(/is being written by process/);

    first.kill('SIGKILL');
    await exited;
    const taken = bilevel(['resume', out, '--quiet']);
    expect(taken.code, taken.stderr).toBe(0);
    expect(taken.stderr).toMatch(new RegExp(`took over the lock of .*run: process ${first.pid}, which held it since .*, is gone`));
    expect(existsSync(join(out, 'summary.json'))).toBe(true);
    expect(existsSync(`${out}.lock`)).toBe(false);
  }, 240_000);
});
