import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bilevel, tempDir, writeJson } from './cli.js';

describe('bilevel run --default (the README Quickstart job)', () => {
  it('runs, prints PSNR before/after, and writes summary.json and iterations.jsonl', () => {
    const out = join(tempDir(), 'run');
    const t0 = performance.now();
    const r = bilevel(['run', '--default', '--out', out]);
    const seconds = (performance.now() - t0) / 1000;
    expect(r.code, r.stderr).toBe(0);
    expect(seconds).toBeLessThan(120);
    expect(r.stdout).toMatch(/train: PSNR \d+\.\d+ → \d+\.\d+ dB/);
    const s = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    for (const key of ['theta', 'upperLoss', 'lowerIterations', 'cgIterations', 'wallSeconds', 'backend', 'stopReason']) expect(s).toHaveProperty(key);
    for (const split of [s.train, s.test]) {
      expect(split.psnr.learned).toBeGreaterThan(split.psnr.input + 5);
      expect(split.ssim.learned).toBeGreaterThan(split.ssim.input);
    }
    expect(s.backend).toBe('wasm');
    expect(['converged', 'accuracy-floor']).toContain(s.stopReason);
    const rows = readFileSync(join(out, 'iterations.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(rows.length).toBe(s.outerIterations);
    for (const key of ['iter', 'seconds', 'upperLoss', 'psnr', 'epsilon', 'delta', 'omega', 'gradNorm', 'step', 'backtracks', 'lowerIterations', 'cgIterations']) {
      expect(rows[0]).toHaveProperty(key);
    }
    expect(existsSync(join(out, 'report.html'))).toBe(true);
    expect(existsSync(join(out, 'train-examples.png'))).toBe(true);
    // A second run into the same folder is refused without --force.
    const again = bilevel(['run', '--default', '--out', out]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/--force/);
  });

  it('--backend tensorflow without the package exits non-zero naming the package', () => {
    const out = join(tempDir(), 'tf');
    const r = bilevel(['run', '--default', '--out', out, '--backend', 'tensorflow']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/@tensorflow\/tfjs-node/);
    expect(existsSync(out)).toBe(false);
  });

  it('bilevel plugins lists the registered plugins', () => {
    const r = bilevel(['plugins']);
    expect(r.code).toBe(0);
    for (const name of ['identity', 'l2', 'tv', 'tv-isotropic', 'fista', 'cg', 'maid']) expect(r.stdout).toContain(name);
  });
});

describe('bad input: clear error naming the field, non-zero exit, no results written', () => {
  const base = {
    data: { train: { source: 'synthetic', count: 2, size: [32, 32] }, noise: { sigma: 0.1 } },
    regularizer: { name: 'tv' },
    budget: { maxIterations: 2 },
  };
  const cases: [string, unknown, RegExp][] = [
    ['not JSON', '{ "data": ', /not valid JSON/],
    ['unknown regularizer', { ...base, regularizer: { name: 'tvv' } }, /unknown regularizer "tvv"[\s\S]*tv-isotropic/],
    ['unknown optimizer', { ...base, optimizer: 'adam9' }, /unknown optimizer "adam9"/],
    ['negative noise', { ...base, data: { ...base.data, noise: { sigma: -1 } } }, /data\.noise\.sigma/],
    ['missing data folder', { ...base, data: { ...base.data, train: { source: 'folder', path: 'no/such/dir' } } }, /data\.train\.path/],
    ['bad source', { ...base, data: { ...base.data, train: { source: 'web' } } }, /data\.train\.source/],
    ['wrong theta0 length', { ...base, regularizer: { name: 'tv', theta0: [1, 2, 3] } }, /regularizer\.theta0/],
    ['unknown solver option', { ...base, lowerSolver: { name: 'fista', options: { maxIter: 5 } } }, /lowerSolver\.options\.maxIter/],
    ['negative tolerance', { ...base, optimizer: { name: 'maid', options: { epsilon0: -1 } } }, /optimizer\.options\.epsilon0/],
    ['bad image size', { ...base, data: { ...base.data, train: { source: 'synthetic', count: 2, size: [32] } } }, /data\.train\.size/],
    ['string budget', { ...base, budget: { maxIterations: 'ten' } }, /budget\.maxIterations/],
  ];
  for (const [what, config, message] of cases) {
    it(what, () => {
      const dir = tempDir();
      const file = writeJson(dir, 'config.json', config);
      const out = join(dir, 'out');
      const r = bilevel(['run', file, '--out', out]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(message);
      expect(existsSync(out) ? readdirSync(out) : []).toEqual([]);
    });
  }
});
