import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tinyConfig } from '../../experiment/test/optimizer-configs.js';
import { redisOrSkip, spawnWorker, startRedisServer, type LocalRedis, type WorkerProcess } from '../../distributed/test/engine-fixture.js';
import { bilevel, checkpointAt, rows, runAndKill, tempDir, theta, writeJson } from './cli.js';

const skip = await redisOrSkip();
const PASSWORD = 'cli-engine-test';

describe.skipIf(skip)('bilevel run / resume --engine with 2 bilevel workers', () => {
  let redis: LocalRedis;
  let workers: WorkerProcess[];
  beforeAll(async () => {
    redis = await startRedisServer({ password: PASSWORD });
    workers = [await spawnWorker(redis.url), await spawnWorker(redis.url)];
  });
  afterAll(async () => {
    for (const w of workers ?? []) await w.stop();
    await redis?.stop();
  });

  it('a coordinator killed with SIGKILL after a checkpoint resumes with --engine to the uninterrupted θ', async () => {
    const base = tempDir();
    const config = writeJson(base, 'maid.json', tinyConfig('maid', 10));
    const args = (out: string) => ['run', config, '--out', out, '--quiet', '--checkpoint-every', '1', '--engine', redis.url, '--shards', '3'];
    const straight = join(base, 'straight');
    const s = bilevel(args(straight));
    expect(s.code, s.stderr).toBe(0);
    const record = readFileSync(join(straight, 'run.json'), 'utf8');
    expect(JSON.parse(record)).toMatchObject({ engine: `redis://127.0.0.1:${redis.port}`, shards: 3 });
    expect(record).not.toContain(PASSWORD);

    const killed = join(base, 'killed');
    expect(await runAndKill(args(killed), { when: () => checkpointAt(killed) >= 2 })).toBe('killed');
    const without = bilevel(['resume', killed, '--quiet']);
    expect(without.code).toBe(1);
    expect(without.stderr).toMatch(/ran on the engine at redis:\/\/127\.0\.0\.1:\d+.*pass --engine/s);
    const r = bilevel(['resume', killed, '--quiet', '--engine', redis.url]);
    expect(r.code, r.stderr).toBe(0);
    expect(theta(killed)).toEqual(theta(straight));
    expect(rows(killed)).toBe(rows(straight));
  }, 240_000);

  it('--engine with --workers is refused before anything is written', () => {
    const out = join(tempDir(), 'both');
    const r = bilevel(['run', '--default', '--out', out, '--engine', redis.url, '--workers', '2']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--engine and --workers both shard/);
    expect(existsSync(out)).toBe(false);
  });
});
