import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '@bilevel/core';
import { checkEngine, parseEngineUrl, startRedisServer, useEngine, type LocalRedis, type TlsFiles } from '@bilevel/distributed';
import { buildExperiment, DEFAULT_CONFIG, runExperiment } from '@bilevel/experiment';
import { redisOrSkip, spawnWorker, type WorkerProcess } from './engine-fixture.js';

/** A CA and a server certificate for 127.0.0.1 it signed (openssl). */
function makeCertificates(): TlsFiles {
  const dir = mkdtempSync(join(tmpdir(), 'bilevel-tls-'));
  const f = (name: string) => join(dir, name);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=bilevel test CA', '-keyout', f('ca.key'), '-out', f('ca.pem'));
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', f('server.key'), '-out', f('server.csr'));
  writeFileSync(f('san.cnf'), 'subjectAltName=IP:127.0.0.1\n');
  ssl('x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '1', '-extfile', f('san.cnf'), '-out', f('server.pem'));
  return { cert: f('server.pem'), key: f('server.key'), ca: f('ca.pem') };
}

const skip = (await redisOrSkip()) ?? (hasOpenssl() ? undefined : 'openssl not installed: TLS test skipped');
function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(skip)('rediss:// — the engine over TLS with a password', () => {
  let redis: LocalRedis;
  let tls: TlsFiles;
  let worker: WorkerProcess;
  beforeAll(async () => {
    tls = makeCertificates();
    redis = await startRedisServer({ password: 'tls-test', tls });
    worker = await spawnWorker(redis.url, { env: { BILEVEL_ENGINE_CA: tls.ca } });
  });
  afterAll(async () => {
    await worker?.stop();
    await redis?.stop();
  });

  it('a worker and a coordinator that trust the CA run a distributed oracle; without the CA the connection is refused with the fix', async () => {
    expect(worker.log()).toContain('serving queue');
    const spec = parseEngineUrl(redis.url);
    await expect(checkEngine(spec)).rejects.toThrow(/TLS with rediss:\/\/127\.0\.0\.1:\d+ failed .* BILEVEL_ENGINE_CA/);
    process.env.BILEVEL_ENGINE_CA = tls.ca;
    try {
      await useBackend('wasm');
      const e = await buildExperiment({ ...DEFAULT_CONFIG, data: { ...DEFAULT_CONFIG.data, train: { ...DEFAULT_CONFIG.data.train, size: [16, 16] }, test: undefined }, budget: { maxIterations: 2 } });
      useEngine(e, { engine: spec, shards: 2 });
      const r = await runExperiment(e, {});
      expect(r.iterations).toBe(2);
      await e.dispose();
    } finally {
      delete process.env.BILEVEL_ENGINE_CA;
    }
  });
});
