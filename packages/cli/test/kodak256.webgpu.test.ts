import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bilevel, ROOT, tempDir, writeJson } from './cli.js';

// The paper-scale example (examples/foe-denoising-kodak256.json) through the CLI on webgpu, shrunk to what lavapipe
// runs in seconds: the same plugins and options, 2 train / 2 test images 32×32, 4 filters, 2 outer iterations.

const EXAMPLE = join(ROOT, 'examples/foe-denoising-kodak256.json');

type Source = Record<string, unknown>;

// The data set "kodak24-256" comes through BILEVEL_DATA_MIRROR = ../shared/data (into a cache of the test's own).
const DATA = resolve(ROOT, '../shared/data');
const HAS_DATA = existsSync(join(DATA, 'Kodak24-256'));
const ENV: Record<string, string> = HAS_DATA ? { BILEVEL_DATA_MIRROR: DATA, BILEVEL_DATA_DIR: join(tempDir(), 'data-cache') } : {};
if (!HAS_DATA) console.log(`kodak256.webgpu.test.ts: ${DATA}/Kodak24-256 is absent: synthetic 32×32 images stand in for it`);

/** The example with its data shrunk (Kodak24-256 resized to 32×32 where ../shared/data has it, else synthetic). */
function shrunkConfig(maxIterations: number): Record<string, unknown> {
  const c = JSON.parse(readFileSync(EXAMPLE, 'utf8'));
  const shrink = (s: Source): Source => (HAS_DATA ? { ...s, count: 2, size: [32, 32] } : { source: 'synthetic', count: 2, size: [32, 32], seed: Number(s.offset ?? 0) });
  c.data.train = shrink(c.data.train);
  c.data.test = shrink(c.data.test);
  c.regularizer.options = { ...c.regularizer.options, filters: 4 };
  c.budget = { ...c.budget, maxIterations };
  return c;
}

const summary = (dir: string) => JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
const checkpointAt = (dir: string): number => JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8')).iterations;
const rows = (dir: string) => readFileSync(join(dir, 'iterations.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));

describe('examples/foe-denoising-kodak256.json on webgpu (shrunk)', () => {
  it('the example is the paper setting: 48 filters 7×7, 20 train / 4 test images 256×256, σ = 0.1, MAID', () => {
    const c = JSON.parse(readFileSync(EXAMPLE, 'utf8'));
    expect(c.regularizer).toEqual({ name: 'foe', options: { filters: 48, size: 7 } });
    expect([c.data.train.count, c.data.train.offset, c.data.test.count, c.data.test.offset]).toEqual([20, 0, 4, 20]);
    expect([c.data.train.source, c.data.test.source]).toEqual(['kodak24-256', 'kodak24-256']);
    expect(c.data.noise.sigma).toBe(0.1);
    expect(c.optimizer.name).toBe('maid');
  });

  it('runs with progress lines and a checkpoint every iteration, and a resumed run ends with the uninterrupted θ', () => {
    const base = tempDir();
    const straight = join(base, 'straight');
    const s = bilevel(['run', writeJson(base, 'two.json', shrunkConfig(2)), '--backend', 'webgpu', '--out', straight, '--checkpoint-every', '1'], ENV);
    expect(s.code, s.stderr).toBe(0);
    expect(s.stdout).toMatch(/on webgpu: 2 train \/ 2 test images 32×32, foe \(205 parameters\), maid/);
    // Not a terminal (CI=1): one progress line per outer iteration.
    const progress = s.stderr.split('\n').filter((l) => /^iter \d+ t [\d.]+s loss /.test(l));
    expect(progress.map((l) => l.split(' ')[1])).toEqual(['1', '2']);
    expect(checkpointAt(straight)).toBe(2);
    const done = summary(straight);
    expect(done.backend).toBe('webgpu');
    expect(done.outerIterations).toBe(2);
    expect(done.hostReads).toBeGreaterThan(0);
    expect(rows(straight).map((r) => r.hostReads)).toEqual(expect.arrayContaining([expect.any(Number)]));

    // Stopped after iteration 1 (its checkpoint), then resumed to 2 iterations.
    const cut = join(base, 'cut');
    const one = bilevel(['run', writeJson(base, 'one.json', shrunkConfig(1)), '--backend', 'webgpu', '--out', cut, '--checkpoint-every', '1', '--quiet'], ENV);
    expect(one.code, one.stderr).toBe(0);
    expect(checkpointAt(cut)).toBe(1);
    const record = JSON.parse(readFileSync(join(cut, 'run.json'), 'utf8'));
    record.config.budget.maxIterations = 2;
    writeFileSync(join(cut, 'run.json'), JSON.stringify(record));
    const r = bilevel(['resume', cut], ENV);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('from iteration 1');
    expect(r.stderr.split('\n').filter((l) => /^iter \d+ /.test(l)).map((l) => l.split(' ')[1])).toEqual(['2']);
    expect(checkpointAt(cut)).toBe(2);
    expect(rows(cut)).toHaveLength(2);
    // Not bit-for-bit as on wasm: tfjs-webgpu's split-K matmul (inside FoE's mixed product) adds with atomics, so two
    // uninterrupted webgpu runs already differ in the last bits (θ by ~1e-10 after 2 iterations on lavapipe).
    const resumed: number[] = summary(cut).theta;
    expect(resumed).toHaveLength(done.theta.length);
    resumed.forEach((t, i) => expect(Math.abs(t - done.theta[i])).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(done.theta[i]))));
  }, 240_000);
});
