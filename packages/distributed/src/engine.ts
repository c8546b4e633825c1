import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { BilevelError } from '@bilevel/core';

/** Where the engine is: a Redis (or Valkey) server, parsed from `redis://[user:password@]host:port[/db]` or `rediss://…` (TLS). */
export interface EngineSpec {
  readonly host: string;
  readonly port: number;
  readonly db: number;
  readonly username?: string;
  readonly password?: string;
  readonly tls: boolean;
  /** The URL without its password (for logs and run.json). */
  readonly display: string;
}

/** The engine URL is malformed, the server cannot be reached, or it refused the credentials (one line: what, then the fix). */
export class EngineError extends BilevelError {
  constructor(message: string, readonly fix: string) {
    super(`${message} — ${fix}`);
  }
}

const URL_HINT = 'write it as redis://[:password@]host:port (rediss:// for TLS), e.g. redis://127.0.0.1:6379';

/** Parses an engine URL; `field` names where it came from (--engine or BILEVEL_ENGINE). */
export function parseEngineUrl(text: string, field = '--engine'): EngineSpec {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new EngineError(`${field} "${text}" is not a URL`, URL_HINT);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new EngineError(`${field} must use redis:// or rediss://, not ${url.protocol}//`, URL_HINT);
  const port = url.port ? Number(url.port) : 6379;
  const db = url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0;
  if (!url.hostname || !Number.isInteger(db) || db < 0) throw new EngineError(`${field} "${text}" names no host or a bad database number`, URL_HINT);
  const password = url.password ? decodeURIComponent(url.password) : undefined;
  const username = url.username ? decodeURIComponent(url.username) : undefined;
  const display = `${url.protocol}//${username ? `${username}@` : ''}${url.hostname}:${port}${db ? `/${db}` : ''}`;
  return { host: url.hostname, port, db, username, password, tls: url.protocol === 'rediss:', display };
}

/** The engine of a command: its --engine flag, else BILEVEL_ENGINE, else none (run in-process). */
export function engineFrom(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): EngineSpec | undefined {
  if (flag !== undefined) return parseEngineUrl(flag, '--engine');
  return env.BILEVEL_ENGINE ? parseEngineUrl(env.BILEVEL_ENGINE, 'BILEVEL_ENGINE') : undefined;
}

/**
 * ioredis options of the engine (BullMQ requires maxRetriesPerRequest: null). With TLS, BILEVEL_ENGINE_CA names a PEM
 * file of the CA that signed the server's certificate (else the system's CAs are trusted).
 */
export function redisOptions(spec: EngineSpec, env: NodeJS.ProcessEnv = process.env): RedisOptions {
  const ca = env.BILEVEL_ENGINE_CA;
  // SNI takes host names only (an IP address is checked against the certificate's IP entries without it).
  const sni = isIP(spec.host) ? {} : { servername: spec.host };
  return {
    host: spec.host, port: spec.port, db: spec.db, username: spec.username, password: spec.password,
    tls: spec.tls ? { ...sni, ...(ca ? { ca: readCa(ca) } : {}) } : undefined,
    maxRetriesPerRequest: null,
  };
}

function readCa(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new EngineError(`cannot read BILEVEL_ENGINE_CA "${file}" (${(e as Error).message})`, 'point it at the PEM file of the CA that signed the server\'s certificate');
  }
}

/** The same options as BullMQ's connection (its types describe ioredis's options in their own words). */
export function queueConnection(spec: EngineSpec): ConnectionOptions {
  return redisOptions(spec) as ConnectionOptions;
}

/** The message of a failed connection: what went wrong and what to check. */
function connectionError(spec: EngineSpec, e: Error): EngineError {
  const m = e.message;
  if (/WRONGPASS|invalid password|invalid username-password/i.test(m)) return new EngineError(`${spec.display} refused the password (${m.split('\n')[0]})`, 'check the password in --engine / BILEVEL_ENGINE (redis://:PASSWORD@host:port)');
  if (/NOAUTH/i.test(m)) return new EngineError(`${spec.display} requires a password`, 'add it to the URL: redis://:PASSWORD@host:port');
  if (/certificate|self[- ]signed|SSL|TLS|EPROTO/i.test(m)) return new EngineError(`TLS with ${spec.display} failed (${m})`, 'set BILEVEL_ENGINE_CA to the PEM file of the CA that signed the server\'s certificate, and check that the server speaks TLS on that port');
  if (/ECONNREFUSED|ENOTFOUND|ETIMEDOUT|EHOSTUNREACH/i.test(m)) return new EngineError(`cannot reach the engine at ${spec.display} (${m})`, 'start redis-server there (docs/distributed.md) or fix host and port');
  return new EngineError(`the engine at ${spec.display} failed: ${m}`, 'check that it is a Redis ≥ 6.2 (or Valkey) server, and the TLS settings for rediss://');
}

/** Connects once and sends PING: a wrong password or an unreachable server throws EngineError at once. */
export async function checkEngine(spec: EngineSpec): Promise<void> {
  const redis = new Redis({ ...redisOptions(spec), lazyConnect: true, retryStrategy: () => null, connectTimeout: 5000 });
  let first: Error | undefined;
  redis.on('error', (e: Error) => (first ??= e));
  try {
    await redis.connect();
    await redis.ping();
  } catch (e) {
    throw connectionError(spec, first ?? (e as Error));
  } finally {
    redis.disconnect();
  }
}

/** A client of the engine (reconnects by itself; call checkEngine first for a clear error). */
export function openClient(spec: EngineSpec): Redis {
  return new Redis(redisOptions(spec));
}
