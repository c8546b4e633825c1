import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bilevel, MAIN, ROOT, tempDir } from './cli.js';

/** Starts the command and SIGKILLs it after `ms` (or lets it finish first). */
function runAndKill(args: string[], ms: number): Promise<'killed' | 'finished'> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [MAIN, ...args], { cwd: ROOT, stdio: 'ignore', env: { ...process.env, CI: '1' } });
    const timer = setTimeout(() => p.kill('SIGKILL'), ms);
    p.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(signal === 'SIGKILL' ? 'killed' : 'finished');
    });
  });
}

const theta = (dir: string): number[] => JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')).theta;

describe('checkpoints and resume', () => {
  it('a run SIGKILLed three times at random moments and resumed ends with exactly the uninterrupted θ', async () => {
    const base = tempDir();
    const straight = join(base, 'straight');
    expect(bilevel(['run', '--default', '--out', straight, '--quiet', '--checkpoint-every', '1']).code).toBe(0);
    const rows = readFileSync(join(straight, 'iterations.jsonl'), 'utf8').trim().split('\n').length;

    const killed = join(base, 'killed');
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const at = () => (existsSync(join(killed, 'checkpoint.json')) ? JSON.parse(readFileSync(join(killed, 'checkpoint.json'), 'utf8')).iterations : 0);
    const outcomes = [await runAndKill(['run', '--default', '--out', killed, '--quiet', '--checkpoint-every', '1'], 1200 + 1500 * rand())];
    const checkpoints = [at()];
    for (let k = 0; k < 2; k++) {
      outcomes.push(await runAndKill(['resume', killed, '--quiet'], 800 + 1500 * rand()));
      checkpoints.push(at());
    }
    console.log(`kill outcomes: ${outcomes.join(', ')}; checkpoint after each: ${checkpoints.join(', ')} of ${rows}`);
    expect(outcomes[0]).toBe('killed');
    // At least one kill landed mid-run, after a checkpoint had been written.
    expect(checkpoints.some((c, k) => outcomes[k] === 'killed' && c > 0 && c < rows)).toBe(true);
    const r = bilevel(['resume', killed, '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    expect(theta(killed)).toEqual(theta(straight));
    expect(readFileSync(join(killed, 'iterations.jsonl'), 'utf8').trim().split('\n').length).toBe(rows);
  }, 300_000);
});
