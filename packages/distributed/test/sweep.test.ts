import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, defaultRegistry } from '@bilevel/experiment';
import {
  expandSweep, MemoryStore, readSweep, runSweep, runSweepJob, storedResult, sweepKeys, SweepFileError, type ArrayStore, type SweepJob,
} from '@bilevel/distributed';
import { CLI } from './engine-fixture.js';
import { alone, OVERRIDES, tempDir, tvConfig as tiny } from './sweep-fixture.js';

describe('sweep files', () => {
  it('expand to one job per override and seed, override-major, the override deep-merged and the seed applied', () => {
    const { jobs, name } = expandSweep({ base: tiny(4), overrides: [...OVERRIDES, { label: 'c', set: { budget: { maxSeconds: 9 }, data: { test: null } } }], seeds: [0, 1, 2] }, tempDir());
    expect(name).toBe(DEFAULT_CONFIG.name);
    expect(jobs.map((j) => `${j.label}${j.seed}`)).toEqual(['a0', 'a1', 'a2', 'b0', 'b1', 'b2', 'c0', 'c1', 'c2']);
    for (const j of jobs) expect(j.config.seed).toBe(j.seed);
    const b = jobs[3].config as ReturnType<typeof tiny>;
    expect(b.regularizer).toEqual({ name: 'tv', theta0: [-4, -4] });
    expect(b.data.train.size).toEqual([32, 32]);
    const c = jobs[6].config as ReturnType<typeof tiny>;
    expect(c.budget).toEqual({ maxIterations: 4, maxSeconds: 9 });
    // A JSON Merge Patch: null removes the key.
    expect(Object.keys(c.data)).toEqual(['train', 'noise']);
    expect(jobs[0].checkpointEvery).toBe(5);
  });

  it('job ids are stable, and differ with the seed, the override, the base config and the code version', () => {
    const sweep = { base: tiny(4), overrides: OVERRIDES, seeds: [0, 1, 2] };
    const dir = tempDir();
    const ids = (raw: object, version?: string) => expandSweep(raw, dir, { version }).jobs.map((j) => j.id);
    const first = ids(sweep);
    expect(first.every((id) => /^[0-9a-f]{16}$/.test(id))).toBe(true);
    expect(new Set(first).size).toBe(6);
    expect(ids(structuredClone(sweep))).toEqual(first);
    // Key order does not matter (canonical JSON).
    expect(ids({ seeds: sweep.seeds, overrides: sweep.overrides, base: Object.fromEntries(Object.entries(tiny(4)).reverse()) })).toEqual(first);
    const other = ids({ ...sweep, base: { ...tiny(4), data: { ...tiny(4).data, noise: { type: 'gaussian', sigma: 0.05 } } } });
    expect(other.filter((id) => first.includes(id))).toEqual([]);
    const v1 = ids(sweep, 'v1');
    expect(ids(sweep, 'v1')).toEqual(v1);
    expect(ids(sweep, 'v2').filter((id) => v1.includes(id))).toEqual([]);
  });

  it('read the base config relative to the sweep file; bad files fail naming the field', () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'configs'));
    writeFileSync(join(dir, 'configs', 'base.json'), JSON.stringify(tiny(3)));
    const file = join(dir, 'sweep.json');
    const write = (raw: unknown) => writeFileSync(file, JSON.stringify(raw));
    write({ base: 'configs/base.json', seeds: [4], checkpointEvery: 2 });
    const { jobs } = readSweep(file);
    expect(jobs.map((j) => [j.label, j.seed, j.baseDir, j.checkpointEvery])).toEqual([['base', 4, join(dir, 'configs'), 2]]);
    const fails = (raw: unknown, message: RegExp) => {
      write(raw);
      expect(() => readSweep(file)).toThrow(SweepFileError);
      expect(() => readSweep(file)).toThrow(message);
    };
    fails({ base: 'configs/base.json', seeds: ['x'] }, /seeds\.0: .*number/);
    fails({ base: 'configs/base.json', overrides: [{ label: 'has space', set: {} }] }, /overrides\.0\.label: use 1–64 letters/);
    fails({ base: 'configs/base.json', seed: 3 }, /seed: unknown field/);
    fails({ base: 'missing.json' }, /cannot read base config ".*missing\.json"/);
    fails({ base: 'configs/base.json', overrides: [{ label: 'x', set: {} }, { label: 'x', set: { gamma: 1 } }] }, /label "x" appears twice/);
    fails({ base: 'configs/base.json', overrides: [{ label: 'x', set: {} }, { label: 'y', set: {} }] }, /overrides "x" and "y" give the same job/);
    writeFileSync(file, '{ not json');
    expect(() => readSweep(file)).toThrow(/sweep file ".*" line 1, column 3: /);
  });
});

describe('runSweep in this process', () => {
  it('runs every job through runSweepJob: each θ is that of the same config run alone; known results are skipped', async () => {
    const { jobs } = expandSweep({ base: tiny(4), overrides: OVERRIDES, seeds: [0, 1], checkpointEvery: 2 }, tempDir());
    const events: string[] = [];
    const out = await runSweep(jobs, { onEvent: (e) => e.type !== 'progress' && e.type !== 'ready' && events.push(`${e.type} ${e.job.label}${e.job.seed}`) });
    expect(out.failed).toEqual([]);
    expect(out.results.map((r) => r.id)).toEqual(jobs.map((j) => j.id));
    expect(events).toEqual(['done a0', 'done a1', 'done b0', 'done b1']);
    for (const [i, job] of jobs.entries()) {
      const r = out.results[i];
      expect(r.theta).toEqual(await alone(job));
      expect([r.label, r.seed, r.rows.length, r.iterations, r.regularizer.name]).toEqual([job.label, job.seed, 4, 4, 'tv']);
      expect(r.resumedFrom).toBeUndefined();
    }
    expect(out.results[0].theta).not.toEqual(out.results[2].theta);
    const again = await runSweep(jobs, { known: out.results });
    expect(again.skipped).toBe(4);
    expect(again.results).toEqual(out.results);
  });

  it('a job whose run died after a checkpoint resumes from it (in the store, or in a shared folder) with the θ of an uninterrupted run', async () => {
    const registry = await defaultRegistry([]);
    const ctx = (store: ArrayStore) => ({ store, registry, plugins: [], progress: async () => {} });
    for (const checkpointDir of [undefined, tempDir()]) {
      const [job] = expandSweep({ base: tiny(6), checkpointEvery: 2, checkpointDir }, tempDir()).jobs;
      const reference = (await runSweep([job])).results[0];
      const store = new MemoryStore();
      const file = checkpointDir && join(checkpointDir, `${job.id}.checkpoint.json`);
      if (file) writeFileSync(file, JSON.stringify((await checkpoints(job))[0]));
      else {
        // The second checkpoint write fails: the run dies at iteration 4, iteration 2's checkpoint stays in the store.
        let writes = 0;
        const dying = spy(store, (key) => {
          if (key === sweepKeys(job.id).checkpoint && ++writes === 2) throw new Error('worker died');
        });
        await expect(runSweepJob(job, ctx(dying))).rejects.toThrow('worker died');
      }
      const resumed = await runSweepJob(job, ctx(store));
      expect(resumed.theta).toEqual(reference.theta);
      expect(resumed.resumedFrom).toBe(2);
      expect(resumed.rows.map((r) => [r.iter, r.upperLoss, r.lowerIterations])).toEqual(reference.rows.map((r) => [r.iter, r.upperLoss, r.lowerIterations]));
      expect(await storedResult(store, job.id)).toEqual(resumed);
      if (file) expect(existsSync(file)).toBe(false);
      else await expect(store.getJson(sweepKeys(job.id).checkpoint)).rejects.toThrow(/no value/);
    }
  });
});

/** The store, with `before(key)` called before each putJson (it may throw). */
function spy(store: ArrayStore, before: (key: string) => void): ArrayStore {
  return {
    put: (k, d) => store.put(k, d), get: (k) => store.get(k), getJson: (k) => store.getJson(k), delete: (k) => store.delete(k),
    putJson: async (k, v) => {
      before(k);
      return store.putJson(k, v);
    },
  };
}

/** The checkpoint entries a run of the job writes to the store, in order. */
async function checkpoints(job: SweepJob): Promise<unknown[]> {
  const store = new MemoryStore();
  const seen: unknown[] = [];
  const recording: ArrayStore = { ...spy(store, () => {}), putJson: async (k, v) => {
    if (k === sweepKeys(job.id).checkpoint) seen.push(v);
    return store.putJson(k, v);
  } };
  await runSweepJob({ ...job, checkpointDir: undefined }, { store: recording, registry: await defaultRegistry([]), plugins: [], progress: async () => {} });
  return seen;
}

describe('bilevel sweep (local)', () => {
  const bilevel = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000 });

  it('writes a folder per job, the table and the plots; the same command again skips every job', () => {
    const dir = tempDir();
    const file = join(dir, 'sweep.json');
    writeFileSync(file, JSON.stringify({ name: 'tiny', base: tiny(3), overrides: OVERRIDES, seeds: [5] }));
    const out = join(dir, 'out');
    const r = bilevel(['sweep', file, '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/done a-seed5 \([0-9a-f]{16}\): max-iterations after 3 its/);
    for (const run of ['a-seed5', 'b-seed5']) {
      const summary = JSON.parse(readFileSync(join(out, run, 'summary.json'), 'utf8'));
      const theta = JSON.parse(readFileSync(join(out, run, 'theta.json'), 'utf8'));
      expect(summary.theta).toEqual(theta.theta);
      expect([summary.seed, summary.label, summary.outerIterations]).toEqual([5, run[0], 3]);
      expect(theta.layout.size).toBe(2);
      expect(readFileSync(join(out, run, 'iterations.jsonl'), 'utf8').trim().split('\n')).toHaveLength(3);
    }
    const csv = readFileSync(join(out, 'table.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('label,seed,jobId,stop,iterations,upperLoss,trainPsnr,testPsnr,work,wallSeconds');
    expect(csv.slice(1).map((l) => l.split(',').slice(0, 2).join())).toEqual(['a,5', 'b,5']);
    expect(readFileSync(join(out, 'table.md'), 'utf8')).toMatch(/^# tiny\n[\s\S]*\| a \| 5 \| [0-9a-f]{16} \| max-iterations \| 3 \|/);
    for (const svg of ['loss.svg', 'psnr.svg']) expect(readFileSync(join(out, svg), 'utf8')).toMatch(/<polyline[\s\S]*a-seed5[\s\S]*b-seed5/);
    const again = bilevel(['sweep', file, '--out', out]);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/0 jobs run, 2 skipped/);
    expect(JSON.parse(readFileSync(join(out, 'a-seed5', 'theta.json'), 'utf8')).theta).toEqual(JSON.parse(readFileSync(join(out, 'a-seed5', 'summary.json'), 'utf8')).theta);
  });

  it('bad input (missing file, bad field, bad config, taken folder) exits 1 naming the problem and writes nothing', () => {
    const dir = tempDir();
    const file = join(dir, 'sweep.json');
    const out = join(dir, 'out');
    const fails = (message: RegExp, args: string[] = ['sweep', file, '--out', out]) => {
      const r = bilevel(args);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(existsSync(out)).toBe(false);
    };
    fails(/cannot read sweep file/);
    writeFileSync(file, JSON.stringify({ base: tiny(3), seeds: 'x' }));
    fails(/seeds: .*expected array/);
    writeFileSync(file, JSON.stringify({ base: tiny(3), overrides: [{ label: 'a', set: { budget: { maxIterations: -1 } } }] }));
    fails(/override "a" \(seed 0\).*budget\.maxIterations/s);
    writeFileSync(file, JSON.stringify({ base: tiny(3) }));
    fails(/--engine must use redis:\/\//, ['sweep', file, '--out', out, '--engine', 'http://x']);
    fails(/sweep needs --out/, ['sweep', file]);
    mkdirSync(out);
    writeFileSync(join(out, 'keep.txt'), 'mine');
    const r = bilevel(['sweep', file, '--out', out]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/already exists and is not a sweep's output/);
    expect(readFileSync(join(out, 'keep.txt'), 'utf8')).toBe('mine');
  });
});
