import { describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM helpers without type declarations
import { csvTable, lastRowWithin, markdownTable, merge, parseSeeds, seedSummary, subsample, svgLines } from '../lib.mjs';

const rows = [0, 10, 20, 40, 80, 160].map((c, i) => ({ iter: i + 1, lowerIterations: c, cgIterations: c / 2 }));

describe('tools/compare helpers', () => {
  it('merges configs, picks rows by work and subsamples evenly in work', () => {
    expect(merge({ a: { b: 1, c: [1] }, d: 2 }, { a: { c: [2] } })).toEqual({ a: { b: 1, c: [2] }, d: 2 });
    expect(lastRowWithin(rows, 70)).toBe(3);
    expect(lastRowWithin(rows, -1)).toBe(-1);
    const picks = subsample(rows, 3, [2]);
    expect(picks[0]).toBe(0);
    expect(picks.at(-1)).toBe(rows.length - 1);
    expect(picks).toContain(2);
  });

  it('writes Markdown/CSV tables and a multi-series SVG with log axes', () => {
    const cols = [{ key: 'm', title: 'method', align: 'left' }, { key: 'v', title: 'value', digits: 3 }];
    const md = markdownTable(cols, [{ m: 'MAID', v: 8.38174 }, { m: 'HOAG', v: undefined }]);
    expect(md).toContain('| MAID | 8.38 |');
    expect(md).toContain('| HOAG | — |');
    expect(csvTable(cols, [{ m: 'a,b', v: 1 }])).toBe('m,v\n"a,b",1\n');
    const svg = svgLines([{ label: 'A', xs: [0, 10, 100], ys: [1, 0.1, 0.01] }, { label: 'B <x>', xs: [5, 50], ys: [0.5, 0.05], dashed: true }], { title: 't', xLabel: 'x', yLabel: 'y', logX: true, logY: true, xMin: 10 });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).not.toContain('NaN');
    expect((svg.match(/<polyline/g) ?? []).length).toBe(2);
    expect(svg).toContain('B &lt;x&gt;');
    expect(svg).toContain('stroke-dasharray');
  });
});

describe('tools/compare sweep grid', () => {
  it('expands start:stop:step ranges and their product, and rejects bad ranges', async () => {
    // @ts-expect-error plain ESM helpers without type declarations
    const { gridPoints, parseRange } = await import('../sweep.mjs');
    expect(parseRange('-7:-5.5:0.5')).toEqual([-7, -6.5, -6, -5.5]);
    expect(gridPoints([[1, 2], [3, 4, 5]])).toEqual([[1, 3], [1, 4], [1, 5], [2, 3], [2, 4], [2, 5]]);
    expect(() => parseRange('1:0:1')).toThrow(/start ≤ stop/);
    expect(() => parseRange('0:1:0')).toThrow(/step > 0/);
  });

  it('parses --seeds and summarises per-seed tables against the reference method', () => {
    expect(parseSeeds('0, 2,2,5')).toEqual([0, 2, 5]);
    expect(() => parseSeeds('0,x')).toThrow(/--seeds "0,x"/);
    expect(() => parseSeeds('-1')).toThrow(/non-negative integers/);
    expect(() => parseSeeds(true, 'seed')).toThrow(/--seed needs a value/);
    expect(() => parseSeeds('x', 'seed')).toThrow(/a non-negative integer, e\.g\. --seed 3/);
    const perSeed = [
      { seed: 0, table: [{ method: 'MAID', 'loss@10': 2 }, { method: 'HOAG', 'loss@10': 3 }] },
      { seed: 1, table: [{ method: 'MAID', 'loss@10': 4 }, { method: 'HOAG', 'loss@10': 1 }] },
    ];
    const rows = seedSummary(perSeed, [10], 'MAID');
    expect(rows).toEqual([
      { checkpoint: 10, method: 'MAID', seed0: 2, seed1: 4, mean: 3, belowReference: undefined },
      { checkpoint: 10, method: 'HOAG', seed0: 3, seed1: 1, mean: 2, belowReference: '1/2' },
    ]);
  });
});

describe('tools/compare omega check', () => {
  it('ω and the corrected-value bound hold against measured errors on a small synthetic TV problem; bad flags exit 2', async () => {
    const { execFileSync, spawnSync } = await import('node:child_process');
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'omega-'));
    const config = join(dir, 'tv.json');
    writeFileSync(config, JSON.stringify({
      name: 'omega-test', seed: 0,
      data: { train: { source: 'synthetic', count: 2, size: [24, 24], seed: 5 }, noise: { type: 'gaussian', sigma: 0.1 } },
      operator: { name: 'identity' }, regularizer: { name: 'tv', theta0: [-2.5, -2.5] },
      lowerSolver: { name: 'fista' }, linearSolver: { name: 'cg' }, optimizer: { name: 'maid' }, budget: { maxIterations: 1 },
    }));
    const tool = join(__dirname, '..', 'omega.mjs');
    const out = execFileSync('node', [tool, config, '--accuracies', '0.1,0.01', '--theta', '-2,-4'], { encoding: 'utf8' });
    const lines = out.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(3);
    for (const row of lines.slice(0, 2)) {
      expect(row.omega).toBeGreaterThanOrEqual(row.error);
      expect(row.valueBound).toBeGreaterThanOrEqual(row.valueError);
    }
    expect(lines[2].theta).toEqual([-2, -4]);
    expect(lines[2].smallestBoundToErrorRatio).toBeGreaterThanOrEqual(1);
    const bad = spawnSync('node', [tool, config, '--accuracies', '0.1,-1'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--accuracies');
    const wrongLength = spawnSync('node', [tool, config, '--theta', '1,2,3'], { encoding: 'utf8' });
    expect(wrongLength.status).toBe(2);
    expect(wrongLength.stderr).toContain('--theta has 3 entries');
  }, 60_000);
});

describe('tools/compare --lower-solver', () => {
  it('runs every method with the named lower solver and says so; an unknown name exits 2 before writing anything', async () => {
    const { spawnSync } = await import('node:child_process');
    const { existsSync, mkdtempSync, readFileSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'compare-'));
    const config = join(dir, 'compare.json');
    writeFileSync(config, JSON.stringify({
      name: 'lower-solver-test',
      base: {
        seed: 0, data: { train: { source: 'synthetic', count: 2, size: [16, 16], seed: 5 }, noise: { type: 'gaussian', sigma: 0.1 } },
        operator: { name: 'identity' }, regularizer: { name: 'tv', theta0: [-2.5, -2.5] }, budget: { maxIterations: 3 },
      },
      reevaluate: { points: 3, tolerance: 0.01 },
      methods: [{ label: 'MAID', optimizer: { name: 'maid' } }],
    }));
    const tool = join(__dirname, '..', 'compare.mjs');
    const bad = spawnSync('node', [tool, config, '--out', join(dir, 'bad'), '--lower-solver', 'nope'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--lower-solver "nope": unknown lower-level solver → use one of: .*newton-cg/);
    expect(existsSync(join(dir, 'bad'))).toBe(false);
    const ok = spawnSync('node', [tool, config, '--out', join(dir, 'ok'), '--lower-solver', 'newton-cg'], { encoding: 'utf8' });
    expect(ok.status).toBe(0);
    expect(readFileSync(join(dir, 'ok', 'table.md'), 'utf8')).toContain('lower-level solver newton-cg for every method');
    expect(JSON.parse(readFileSync(join(dir, 'ok', 'results.json'), 'utf8')).lowerSolver).toBe('newton-cg');
    // --count-probes puts MAID's probe work (PROBE_WORK per hypergradient call) on the work axis.
    const counted = spawnSync('node', [tool, config, '--out', join(dir, 'probes'), '--count-probes'], { encoding: 'utf8' });
    expect(counted.status).toBe(0);
    const plain = JSON.parse(readFileSync(join(dir, 'ok', 'results.json'), 'utf8')).table[0];
    const report = JSON.parse(readFileSync(join(dir, 'probes', 'results.json'), 'utf8'));
    const row = report.table[0];
    expect(report.countProbes).toBe(true);
    expect(row.probeWork).toBeGreaterThan(0);
    expect(row.work).toBe(row.lowerIterations + row.cgIterations + row.probeWork);
    expect(plain.work).toBe(plain.lowerIterations + plain.cgIterations);
    expect(readFileSync(join(dir, 'probes', 'table.md'), 'utf8')).toContain('lower+CG+probes');
  }, 60_000);
});
