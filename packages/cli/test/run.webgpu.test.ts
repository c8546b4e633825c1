import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bilevel, MAIN, ROOT, tempDir, writeJson } from './cli.js';

// The webgpu group: a short `bilevel run --backend webgpu` (MAID, TV, 3 images 12×12), killed after a checkpoint and
// resumed on webgpu (run.json records the backend), and the same run with its oracle in 2 worker threads on webgpu.
const config = {
  name: 'tiny-webgpu', seed: 3,
  data: { train: { source: 'synthetic', count: 3, size: [12, 12], seed: 11 }, test: { source: 'synthetic', count: 1, size: [12, 12], seed: 21 }, noise: { sigma: 0.1 } },
  regularizer: { name: 'tv', theta0: [-4, -4.5] }, optimizer: { name: 'maid' }, budget: { maxIterations: 5 },
};
const json = (dir: string, f: string) => JSON.parse(readFileSync(join(dir, f), 'utf8'));
const rows = (dir: string) => readFileSync(join(dir, 'iterations.jsonl'), 'utf8').trim().split('\n').length;
const checkpointAt = (dir: string): number => {
  try {
    return existsSync(join(dir, 'checkpoint.json')) ? json(dir, 'checkpoint.json').iterations : 0;
  } catch {
    return 0; // being replaced
  }
};

/** Runs the command and SIGKILLs it once `when()` holds (polled), or lets it finish first. */
function runAndKill(args: string[], when: () => boolean, env: Record<string, string> = {}): Promise<'killed' | 'finished'> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [MAIN, ...args], { cwd: ROOT, stdio: 'ignore', env: { ...process.env, CI: '1', BILEVEL_REPORT_PNG: '0', ...env } });
    const poll = setInterval(() => { if (when()) p.kill('SIGKILL'); }, 5);
    p.on('exit', (_code, signal) => {
      clearInterval(poll);
      resolve(signal === 'SIGKILL' ? 'killed' : 'finished');
    });
  });
}

describe('webgpu: bilevel run, checkpoint, resume', () => {
  const base = tempDir();
  const file = writeJson(base, 'tiny.json', config);
  const straight = join(base, 'straight');

  it('runs on webgpu and writes summary.json, iterations.jsonl, theta.json, checkpoint.json and report.html', () => {
    const r = bilevel(['run', file, '--out', straight, '--backend', 'webgpu', '--quiet', '--checkpoint-every', '1']);
    expect(r.code, r.stderr).toBe(0);
    for (const f of ['summary.json', 'iterations.jsonl', 'theta.json', 'checkpoint.json', 'run.json', 'report.html']) expect(existsSync(join(straight, f)), f).toBe(true);
    const summary = json(straight, 'summary.json');
    expect(summary.backend).toBe('webgpu');
    expect(json(straight, 'run.json').backend).toBe('webgpu');
    expect(rows(straight)).toBe(5);
    expect(summary.theta.every(Number.isFinite)).toBe(true);
  });

  it('killed after its second checkpoint and resumed on webgpu (run.json records it), it ends with the uninterrupted θ', async () => {
    const killed = join(base, 'killed');
    // webgpu chosen by BILEVEL_BACKEND this time: run.json records it, and resume (without the variable) uses it.
    const outcome = await runAndKill(['run', file, '--out', killed, '--quiet', '--checkpoint-every', '1'], () => checkpointAt(killed) >= 2, { BILEVEL_BACKEND: 'webgpu' });
    expect(outcome).toBe('killed');
    expect(json(killed, 'run.json').backend).toBe('webgpu');
    expect(process.env.BILEVEL_BACKEND).toBeUndefined();
    const r = bilevel(['resume', killed, '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    expect(json(killed, 'summary.json').backend).toBe('webgpu');
    // Bit-for-bit on lavapipe so far; 1e-9 allowed: tfjs-webgpu's split-K matmul sums with atomics (README).
    const a: number[] = json(killed, 'summary.json').theta, b: number[] = json(straight, 'summary.json').theta;
    a.forEach((t, i) => expect(Math.abs(t - b[i])).toBeLessThanOrEqual(1e-9 * Math.abs(b[i])));
    expect(rows(killed)).toBe(5);
  });

  it('with the oracle in 2 worker threads (each its own webgpu device), θ matches the in-process run to 1e-4', () => {
    const out = join(base, 'workers');
    const r = bilevel(['run', file, '--out', out, '--backend', 'webgpu', '--quiet', '--workers', '2', '--shards', '3']);
    expect(r.code, r.stderr).toBe(0);
    const a: number[] = json(out, 'summary.json').theta, b: number[] = json(straight, 'summary.json').theta;
    a.forEach((t, i) => expect(Math.abs(t - b[i]) / Math.abs(b[i])).toBeLessThan(1e-4));
  });
});
