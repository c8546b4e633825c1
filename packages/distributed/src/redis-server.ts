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

/** PEM files of a TLS server: its certificate and key, and the CA that signed it. */
export interface TlsFiles {
  cert: string;
  key: string;
  ca: string;
}

/**
 * Starts `redis-server` (Debian package redis-server) without persistence, optionally with a password, and with
 * `tls` speaking TLS only (the URL is then rediss://; clients need not present certificates).
 */
export async function startRedisServer(o: { password?: string; binary?: string; tls?: TlsFiles } = {}): Promise<LocalRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'bilevel-redis-'));
  const listen = o.tls
    ? ['--port', '0', '--tls-port', String(port), '--tls-cert-file', o.tls.cert, '--tls-key-file', o.tls.key, '--tls-ca-cert-file', o.tls.ca, '--tls-auth-clients', 'no']
    : ['--port', String(port)];
  const args = [...listen, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...(o.password ? ['--requirepass', o.password] : [])];
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
    port, url: `${o.tls ? 'rediss' : 'redis'}://${auth}127.0.0.1:${port}`,
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
