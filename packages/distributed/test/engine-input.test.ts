import { Queue, QueueEvents } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkEngine, codeIdentity, EngineError, engineFrom, openClient, parseEngineUrl, queueConnection, QUEUE, RedisStore, runKeys,
} from '@bilevel/distributed';
import { DEFAULT_CONFIG } from '@bilevel/experiment';
import { redisOrSkip, spawnWorker, startRedisServer, type LocalRedis, type WorkerProcess } from './engine-fixture.js';

describe('engine URLs', () => {
  it('parses host, port, password, database and TLS; the display form has no password', () => {
    const s = parseEngineUrl('rediss://:p%40ss@cache.lab:6380/2');
    expect(s).toMatchObject({ host: 'cache.lab', port: 6380, db: 2, password: 'p@ss', tls: true });
    expect(s.display).toBe('rediss://cache.lab:6380/2');
    expect(parseEngineUrl('redis://localhost')).toMatchObject({ port: 6379, db: 0, tls: false, password: undefined });
  });

  it('rejects other schemes and non-URLs, naming where the URL came from', () => {
    expect(() => parseEngineUrl('http://x:1')).toThrow(/--engine must use redis:\/\/ or rediss:\/\//);
    expect(() => engineFrom(undefined, { BILEVEL_ENGINE: 'nonsense' })).toThrow(/BILEVEL_ENGINE "nonsense" is not a URL/);
    expect(engineFrom(undefined, {})).toBeUndefined();
  });
});

const skip = await redisOrSkip();
const PASSWORD = 'input-test';

describe.skipIf(skip)('a worker and bad input', () => {
  let redis: LocalRedis;
  let worker: WorkerProcess;
  let queue: Queue;
  let events: QueueEvents;
  beforeAll(async () => {
    redis = await startRedisServer({ password: PASSWORD });
    worker = await spawnWorker(redis.url, { args: ['--max-job-mb', '1'] });
    const connection = queueConnection(parseEngineUrl(redis.url));
    queue = new Queue(QUEUE, { connection });
    events = new QueueEvents(QUEUE, { connection });
    await events.waitUntilReady();
  });
  afterAll(async () => {
    await queue?.close();
    await events?.close();
    await worker?.stop();
    await redis?.stop();
  });

  it('a wrong password: the worker exits 1 with a one-line message; checkEngine throws EngineError', async () => {
    const bad = await spawnWorker(redis.url.replace(PASSWORD, 'wrong'));
    expect(await bad.stop()).toBe(1);
    const lines = bad.log().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/refused the password .* check the password in --engine/);
    await expect(checkEngine(parseEngineUrl(redis.url.replace(`:${PASSWORD}@`, '')))).rejects.toThrow(EngineError);
  });

  /** Adds a job and returns the worker's failure reason (or throws if it completed); `attempts`: those it took. */
  async function failureOf(name: string, data: unknown, attempts = 1): Promise<string> {
    const job = await queue.add(name, data, { attempts: 3 });
    try {
      await job.waitUntilFinished(events, 30_000);
    } catch (e) {
      const failed = await queue.getJob(job.id!);
      // Input that can never succeed is rejected at once, without retries.
      expect(failed?.attemptsMade).toBe(attempts);
      return (e as Error).message;
    }
    throw new Error(`job ${name} completed`);
  }

  it('malformed, oversized and unknown jobs are failed with a reason, and the worker keeps serving', async () => {
    expect(await failureOf('shard', { op: 'evaluate', run: 'r1', shard: 0, theta: 'not numbers' })).toMatch(/malformed payload: .*theta/);
    expect(await failureOf('shard', { op: 'floor', run: 'r1', shard: 0, theta: [1], x: 'k', extra: 1 })).toMatch(/malformed payload/);
    expect(await failureOf('shard', { op: 'init', run: 'r1', shard: 0, out: 'k', pad: 'x'.repeat(1.5 * 2 ** 20) })).toMatch(/over the worker's limit of 1048576/);
    expect(await failureOf('paint', {})).toMatch(/unknown job name "paint"/);
    // A well-formed job of a run that does not exist: failed with what is missing (after its retries).
    expect(await failureOf('shard', { op: 'init', run: 'nosuchrun', shard: 0, out: 'bilevel:nosuchrun:x:1:0' }, 3)).toMatch(/no value under "bilevel:nosuchrun:setup"/);
    expect(worker.child.exitCode).toBeNull();
  });

  it('a run naming a plugin package the worker was not started with, or made by other code, is rejected at once', async () => {
    const client = openClient(parseEngineUrl(redis.url));
    const store = new RedisStore(client);
    const setup = (run: string, config: object, code = codeIdentity()) => store.putJson(runKeys(run).setup, {
      code, config, backend: 'wasm', size: 1, ranges: [[0, 1]], cleanShape: [[1, 8, 8, 1]], measurementShape: [[1, 8, 8, 1]],
    });
    await setup('pluginrun', { ...DEFAULT_CONFIG, plugins: ['bilevel-plugin-evil'] });
    expect(await failureOf('shard', { op: 'init', run: 'pluginrun', shard: 0, out: runKeys('pluginrun').x(1, 0) })).toMatch(/"bilevel-plugin-evil", which this worker does not serve .* --plugin bilevel-plugin-evil/s);
    const other = { ...codeIdentity(), packages: { ...codeIdentity().packages, '@bilevel/core': '9.9.9' } };
    await setup('oldrun', DEFAULT_CONFIG, other);
    expect(await failureOf('shard', { op: 'init', run: 'oldrun', shard: 0, out: runKeys('oldrun').x(1, 0) })).toMatch(/other code than the run: @bilevel\/core 9\.9\.9 \(run\) vs 0\.1\.0 \(worker\)/);
    client.disconnect();
    expect(worker.child.exitCode).toBeNull();
  });
});
