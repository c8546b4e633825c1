import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '@bilevel/core';
import { parseEngineUrl, queueConnection, QUEUE, queueJobId, readSweep, runSweep, type SweepJob } from '@bilevel/distributed';
import { CLI, redisOrSkip, spawnWorker, startRedisServer, waitFor, type LocalRedis, type WorkerProcess } from './engine-fixture.js';
import { alone, OVERRIDES, tempDir, tvConfig } from './sweep-fixture.js';

// A sweep on 2 `bilevel worker` processes, one of them SIGKILLed in the middle of a job (after that job's first
// checkpoint): the other worker continues the job from its checkpoint in Redis.

const skip = await redisOrSkip();
/** Job ids hash the code version: pinned, so that a commit made while the test runs cannot change them. */
const VERSION = 'sweep-engine-test';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(skip)('sweeps on the engine: 2 bilevel worker processes', () => {
  let redis: LocalRedis;
  let workers: WorkerProcess[] = [];
  beforeAll(async () => {
    await useBackend('wasm');
    redis = await startRedisServer();
    workers = await Promise.all([spawnWorker(redis.url), spawnWorker(redis.url)]);
  });
  afterAll(async () => {
    for (const w of workers) await w.stop();
    await redis?.stop();
  });

  it('6 jobs, a worker killed mid-job: 6 results, no duplicate, each θ that of the job run alone; resubmitting skips them all', async () => {
    // 3 seeds × 2 overrides; 8 + 2 images 64×64 and 24 iterations make a job last about a second on a worker.
    const file = writeSweep({ name: 'engine-test', base: tvConfig(24, 64, 8), overrides: OVERRIDES, seeds: [0, 1, 2], checkpointEvery: 2 });
    const dir = dirname(file);
    const { jobs } = readSweep(file, VERSION);
    const engine = parseEngineUrl(redis.url);
    const queue = new Queue(QUEUE, { connection: queueConnection(engine) });
    const progress = new Map<string, number>();
    const victim = `${hostname()}:${workers[0].child.pid}`;
    let killed: { id: string; iteration: number } | undefined;
    let finished = false;
    // Once the first worker's job is past iteration 2 (its first checkpoint), SIGKILL that worker.
    const killer = (async () => {
      while (!finished && !killed) {
        const held = (await queue.getActive()).find((j) => j.name === 'sweep' && j.processedBy === victim);
        const id = (held?.data as SweepJob | undefined)?.id;
        const at = id ? progress.get(id) ?? 0 : 0;
        if (id && at >= 3) {
          killed = { id, iteration: at };
          await workers[0].kill9();
        } else await sleep(20);
      }
    })();
    const out = await runSweep(jobs, { engine, onEvent: (e) => e.type === 'progress' && progress.set(e.job.id, e.iteration) });
    finished = true;
    await killer;
    await queue.close();

    expect(killed, 'the worker was killed in the middle of a job').toBeDefined();
    expect(out.failed).toEqual([]);
    expect(out.results.map((r) => r.id)).toEqual(jobs.map((j) => j.id));
    expect(new Set(out.results.map((r) => `${r.label}-${r.seed}`)).size).toBe(6);
    const taken = out.results.find((r) => r.id === killed!.id)!;
    expect(taken.resumedFrom).toBeGreaterThanOrEqual(2);
    expect(taken.resumedFrom).toBeLessThan(24);
    expect(out.results.filter((r) => r.resumedFrom !== undefined)).toHaveLength(1);
    // Every job completed once, on one worker or the other (a worker's line may arrive after the queue's event).
    const completions = () => workers.flatMap((w) => w.log().match(/done sweep sweep-[0-9a-f]{16}/g) ?? []);
    await waitFor(() => completions().length >= 6, 5000, 'the workers\' "done" lines').catch(() => {});
    expect(completions().sort()).toEqual(jobs.map((j) => `done sweep sweep-${j.id}`).sort());
    for (const [i, job] of jobs.entries()) expect(out.results[i].theta, `${job.label} seed ${job.seed}`).toEqual(await alone(job));

    const t0 = performance.now();
    const again = await runSweep(jobs, { engine });
    expect(again.skipped).toBe(6);
    expect(again.results).toEqual(out.results);
    expect(performance.now() - t0).toBeLessThan(5000);

    // The command does the same, and writes each job's folder from the stored results.
    const outDir = join(dir, 'out');
    const r = spawnSync(process.execPath, [CLI, 'sweep', file, '--engine', redis.url, '--out', outDir], {
      encoding: 'utf8', timeout: 60_000, env: { ...process.env, BILEVEL_CODE_VERSION: VERSION },
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/0 jobs run, 6 skipped/);
    for (const res of out.results) expect(JSON.parse(readFileSync(join(outDir, `${res.label}-seed${res.seed}`, 'theta.json'), 'utf8')).theta).toEqual(res.theta);
    expect(readFileSync(join(outDir, 'table.csv'), 'utf8').trim().split('\n')).toHaveLength(7);
  });

  it('a job that can never succeed (its data is missing on the worker) fails at once with the reason, without retries', async () => {
    const base = { ...tvConfig(3), data: { ...tvConfig(3).data, train: { source: 'folder', path: 'no-such-folder', count: 2 } } };
    const { jobs } = readSweep(writeSweep({ base }), VERSION);
    const t0 = performance.now();
    const out = await runSweep(jobs, { engine: parseEngineUrl(redis.url) });
    expect(out.results).toEqual([]);
    expect(out.failed.map((f) => f.job.id)).toEqual([jobs[0].id]);
    expect(out.failed[0].error).toMatch(/rejected|data\.train/);
    expect(out.failed[0].error).toMatch(/no-such-folder/);
    // Retries wait 5 s, 10 s: a rejected job is not retried.
    expect(performance.now() - t0).toBeLessThan(4000);
    // Submitted again, the failed job runs again (and fails again).
    const queue = new Queue(QUEUE, { connection: queueConnection(parseEngineUrl(redis.url)) });
    const before = (await queue.getJob(queueJobId(jobs[0])))!.finishedOn!;
    const again = await runSweep(jobs, { engine: parseEngineUrl(redis.url) });
    expect(again.failed[0].error).toMatch(/no-such-folder/);
    expect((await queue.getJob(queueJobId(jobs[0])))!.finishedOn!).toBeGreaterThan(before);
    await queue.close();
  });
});

/** Writes a sweep file into a fresh folder and returns its path. */
function writeSweep(raw: object): string {
  const file = join(tempDir(), 'sweep.json');
  writeFileSync(file, JSON.stringify(raw));
  return file;
}
