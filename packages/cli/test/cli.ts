import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(__dirname, '../../..');
export const MAIN = join(ROOT, 'packages/cli/dist/main.js');

/** Runs the built `bilevel` command; the tests need `npm run build` (npm test does it). */
export function bilevel(args: string[], env: Record<string, string> = {}) {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first (npm test does)`);
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, CI: '1', BILEVEL_REPORT_PNG: '0', ...env }, timeout: 180_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'bilevel-test-'));
}

export function writeJson(dir: string, name: string, value: unknown): string {
  const f = join(dir, name);
  writeFileSync(f, typeof value === 'string' ? value : JSON.stringify(value));
  return f;
}

/** Starts the command and SIGKILLs it after `ms`, or once `when()` holds (polled), or lets it finish first. */
export function runAndKill(args: string[], o: { ms?: number; when?: () => boolean; env?: Record<string, string> }): Promise<'killed' | 'finished'> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [MAIN, ...args], { cwd: ROOT, stdio: 'ignore', env: { ...process.env, CI: '1', BILEVEL_REPORT_PNG: '0', ...o.env } });
    const timer = o.ms !== undefined ? setTimeout(() => p.kill('SIGKILL'), o.ms) : undefined;
    const poll = o.when ? setInterval(() => { if (o.when!()) p.kill('SIGKILL'); }, 5) : undefined;
    p.on('exit', (_code, signal) => {
      clearTimeout(timer);
      clearInterval(poll);
      resolve(signal === 'SIGKILL' ? 'killed' : 'finished');
    });
  });
}

export const theta = (dir: string): number[] => JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')).theta;
export const rows = (dir: string) => readFileSync(join(dir, 'iterations.jsonl'), 'utf8').trim().split('\n').length;
/** The iteration of dir's checkpoint (0 when none, or while it is being replaced). */
export function checkpointAt(dir: string): number {
  try {
    return existsSync(join(dir, 'checkpoint.json')) ? JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8')).iterations : 0;
  } catch {
    return 0;
  }
}
