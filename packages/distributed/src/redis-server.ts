import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BilevelError } from '@bilevel/core';

/** A redis-server child process on a free loopback port (tests, benches, trying the engine on one machine). */
export interface LocalRedis {
  readonly port: number;
  /** redis://[:password@]127.0.0.1:port */
  readonly url: string;
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** Starts `redis-server` (Debian package redis-server) without persistence, optionally with a password. */
export async function startRedisServer(o: { password?: string; binary?: string } = {}): Promise<LocalRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'bilevel-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...(o.password ? ['--requirepass', o.password] : [])];
  const child: ChildProcess = spawn(o.binary ?? 'redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new BilevelError(`redis-server did not start within 10 s: ${out}`, 'check the redis-server install')), 10_000);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new BilevelError(`cannot start redis-server (${e.message})`, 'install it: apt-get install redis-server'));
    });
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  const auth = o.password ? `:${encodeURIComponent(o.password)}@` : '';
  return {
    port, url: `redis://${auth}127.0.0.1:${port}`,
    stop: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => {
        rmSync(dir, { recursive: true, force: true });
        resolve();
      });
      child.kill('SIGTERM');
    }),
  };
}

/** Whether `redis-server` can be started here (tests skip with a reason when it cannot, and fail under CI). */
export async function redisAvailable(binary = 'redis-server'): Promise<boolean> {
  return new Promise((resolve) => {
    const p = spawn(binary, ['--version'], { stdio: 'ignore' });
    p.once('error', () => resolve(false));
    p.once('exit', (code) => resolve(code === 0));
  });
}
