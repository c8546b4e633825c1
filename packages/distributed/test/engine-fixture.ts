// Test fixtures of the engine: a redis-server on a free loopback port, `bilevel worker` child processes.
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { redisAvailable, startRedisServer, type LocalRedis } from '@bilevel/distributed';

export const CLI = resolve(__dirname, '../../cli/dist/main.js');

/** Whether redis-server runs here; without it the engine tests skip with this reason (and fail under CI). */
export async function redisOrSkip(): Promise<string | undefined> {
  if (await redisAvailable()) return undefined;
  const reason = 'redis-server is not installed (apt-get install redis-server): engine tests skipped';
  if (process.env.CI) throw new Error(`${reason} — .ci/run must install it`);
  console.warn(reason);
  return reason;
}

export { startRedisServer, type LocalRedis };

/** A `bilevel worker` process on `url` (its output collected in `log`). */
export interface WorkerProcess {
  readonly child: ChildProcess;
  log(): string;
  /** SIGTERM, and waits for the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL at once (a machine dying). */
  kill9(): Promise<void>;
}

export async function spawnWorker(url: string, o: { env?: Record<string, string>; args?: string[] } = {}): Promise<WorkerProcess> {
  const child = spawn(process.execPath, [CLI, 'worker', '--engine', url, ...(o.args ?? [])], {
    env: { ...process.env, BILEVEL_LOCK_MS: '2000', ...o.env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  // Ready once it says it is serving (or it exits, e.g. on a wrong password).
  await Promise.race([
    new Promise<void>((r) => {
      const check = () => (out.includes('serving queue') ? r() : setTimeout(check, 50));
      check();
    }),
    exited,
  ]);
  return {
    child,
    log: () => out,
    stop: () => {
      child.kill('SIGTERM');
      return exited;
    },
    kill9: async () => {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Resolves when `predicate(log)` holds (polling), or rejects after `ms`. */
export async function waitFor(predicate: () => boolean, ms: number, what: string): Promise<void> {
  const t0 = Date.now();
  while (!predicate()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
