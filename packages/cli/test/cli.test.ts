import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { encodePng } from '@bilevel/datasets';
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
    for (const key of ['theta', 'upperLoss', 'lowerIterations', 'cgIterations', 'probeWork', 'wallSeconds', 'backend', 'stopReason']) expect(s).toHaveProperty(key);
    expect(s.probeWork).toBeGreaterThan(0); // the default optimizer (MAID) probes ω's constants
    for (const split of [s.train, s.test]) {
      expect(split.psnr.learned).toBeGreaterThan(split.psnr.input + 5);
      expect(split.ssim.learned).toBeGreaterThan(split.ssim.input);
    }
    expect(s.backend).toBe('wasm');
    expect(s.packages['@bilevel/core']).toMatch(/^\d+\.\d+\.\d+/);
    expect(s.machine.cores).toBeGreaterThan(0);
    expect(typeof s.configHash).toBe('string');
    expect(['converged', 'accuracy-floor']).toContain(s.stopReason);
    const rows = readFileSync(join(out, 'iterations.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(rows.length).toBe(s.outerIterations);
    for (const key of ['iter', 'seconds', 'upperLoss', 'psnr', 'ssim', 'epsilon', 'delta', 'omega', 'omegaRatio', 'gradNorm', 'step', 'backtracks', 'lowerIterations', 'cgIterations', 'probeWork', 'lowerIterationsCall', 'cgIterationsCall', 'lowerSeconds', 'cgSeconds', 'otherSeconds']) {
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
    for (const name of ['identity', 'l2', 'tv', 'tv-isotropic', 'fista', 'newton-cg', 'cg', 'maid']) expect(r.stdout).toContain(name);
  });
});

describe('bad input: clear error naming the field, non-zero exit, no results written', () => {
  const base = {
    data: { train: { source: 'synthetic', count: 2, size: [32, 32] }, noise: { sigma: 0.1 } },
    regularizer: { name: 'tv' },
    budget: { maxIterations: 2 },
  };
  const data = (patch: object) => ({ ...base, data: { ...base.data, ...patch } });
  const dir = tempDir();
  mkdirSync(join(dir, 'empty'));
  mkdirSync(join(dir, 'corrupt'));
  writeFileSync(join(dir, 'corrupt', 'a.png'), 'not a png');
  mkdirSync(join(dir, 'mixed'));
  writeFileSync(join(dir, 'mixed', 'a.png'), encodePng({ height: 16, width: 16, data: new Float32Array(256).fill(0.5) }));
  writeFileSync(join(dir, 'mixed', 'b.png'), encodePng({ height: 20, width: 16, data: new Float32Array(320).fill(0.5) }));
  const cases: [string, unknown, RegExp][] = [
    ['not JSON', '{ "data": ', /config ".*" line 1, column 11: expected a value/],
    ['a bad comma', '{\n  // comments are fine\n  "seed": 1,,\n}', /line 3, column 13: expected a property name/],
    ['config is an array', '[1, 2]', /\$: .*expected object/],
    ['missing data', { regularizer: { name: 'tv' } }, /data: /],
    ['missing regularizer', { data: base.data }, /regularizer: /],
    ['unknown top-level field', { ...base, optimiser: 'maid' }, /optimiser: unknown field/],
    ['unknown regularizer', { ...base, regularizer: { name: 'tvv' } }, /regularizer\.name: unknown regularizer "tvv"[\s\S]*tv-isotropic/],
    ['unknown optimizer', { ...base, optimizer: 'adam9' }, /optimizer\.name: unknown optimizer "adam9"/],
    ['unknown operator', { ...base, operator: { name: 'ultrasound' } }, /operator\.name: unknown operator "ultrasound"/],
    ['unknown backend', { ...base, backend: 'cuda' }, /backend: /],
    ['negative noise', data({ noise: { sigma: -1 } }), /data\.noise\.sigma/],
    ['noise as string', data({ noise: { sigma: '0.1' } }), /data\.noise\.sigma/],
    ['unknown noise type', data({ noise: { type: 'laplace', sigma: 0.1 } }), /data\.noise\.type/],
    ['missing data folder', data({ train: { source: 'folder', path: 'no/such/dir' } }), /data\.train\.path/],
    ['empty image folder', data({ train: { source: 'folder', path: join(dir, 'empty') } }), /data\.train\.path: .*no \.png files/],
    ['corrupt PNG', data({ train: { source: 'folder', path: join(dir, 'corrupt') } }), /data\.train\.path: cannot decode/],
    ['images of different sizes', data({ train: { source: 'folder', path: join(dir, 'mixed') } }), /data\.train\.size/],
    ['more images than available', data({ train: { source: 'folder', path: join(dir, 'mixed'), count: 5, size: [16, 16] } }), /data\.train\.count/],
    ['zero synthetic images', data({ train: { source: 'synthetic', count: 0, size: [32, 32] } }), /data\.train\.count/],
    ['bad source', data({ train: { source: 'web' } }), /data\.train\.source/],
    ['bad image size', data({ train: { source: 'synthetic', count: 2, size: [32] } }), /data\.train\.size/],
    ['train/test size mismatch', data({ test: { source: 'synthetic', count: 2, size: [40, 40] } }), /data\.test: .*expected shape \[32, 32\]/],
    ['wrong theta0 length', { ...base, regularizer: { name: 'tv', theta0: [1, 2, 3] } }, /regularizer\.theta0: has 3 entries/],
    ['NaN in theta0', { ...base, regularizer: { name: 'tv', theta0: ['NaN', 1] } }, /regularizer\.theta0\[0\]/],
    ['unknown solver option', { ...base, lowerSolver: { name: 'fista', options: { maxIter: 5 } } }, /lowerSolver\.options\.maxIter/],
    ['negative tolerance', { ...base, optimizer: { name: 'maid', options: { epsilon0: -1 } } }, /optimizer\.options\.epsilon0/],
    ['impossible shrink factor', { ...base, optimizer: { name: 'maid', options: { shrink: 2 } } }, /optimizer\.options\.shrink/],
    ['string budget', { ...base, budget: { maxIterations: 'ten' } }, /budget\.maxIterations/],
    ['negative gamma', { ...base, gamma: -0.1 }, /gamma/],
  ];
  it(`covers at least 25 malformed configs (${cases.length})`, () => expect(cases.length).toBeGreaterThanOrEqual(25));
  for (const [what, config, message] of cases) {
    it(what, () => {
      const file = writeJson(dir, `${what.replace(/\W+/g, '-')}.json`, config);
      const out = join(dir, `out-${what.replace(/\W+/g, '-')}`);
      const r = bilevel(['run', file, '--out', out]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
      expect(existsSync(out) ? readdirSync(out) : []).toEqual([]);
    });
  }
  it('reports every problem of a config at once', () => {
    const file = writeJson(dir, 'many.json', { ...base, gamma: -1, regularizer: { name: 'nope' }, optimizer: { name: 'maid', options: { step0: 0 } }, data: { ...base.data, noise: { sigma: -2 } } });
    const r = bilevel(['validate', file]);
    expect(r.code).not.toBe(0);
    for (const path of ['gamma', 'data.noise.sigma']) expect(r.stderr).toContain(path);
  });
  it('reports plugin-level problems together', () => {
    const file = writeJson(dir, 'plugins.json', { ...base, regularizer: { name: 'nope' }, optimizer: { name: 'maid', options: { step0: 0 } } });
    const r = bilevel(['validate', file]);
    expect(r.code).not.toBe(0);
    for (const path of ['regularizer.name', 'optimizer.options.step0']) expect(r.stderr).toContain(path);
  });
});

describe('bilevel schema', () => {
  it('prints the JSON Schema of config files', () => {
    const r = bilevel(['schema']);
    expect(r.code).toBe(0);
    const schema = JSON.parse(r.stdout);
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['data', 'regularizer', 'optimizer', 'budget']));
  });
});

describe('bilevel run with the piggyback oracle (config "oracle")', () => {
  it('learns the weight of the standard TV discretization and the taps of a learned one; writes their layouts', () => {
    const dir = tempDir();
    const base = {
      seed: 0, data: { train: { source: 'synthetic', count: 2, size: [16, 16], seed: 4 }, noise: { sigma: 0.1 } },
      optimizer: { name: 'maid', options: { epsilon0: 3e-3, delta0: 6e-3, step0: 0.01 } }, budget: { maxIterations: 3 },
    };
    const standard = join(dir, 'standard');
    let r = bilevel(['run', writeJson(dir, 'standard.json', { ...base, oracle: { name: 'piggyback', options: { discretization: 'standard', huber: 3e-4 } } }), '--out', standard, '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(readFileSync(join(standard, 'summary.json'), 'utf8'));
    expect(s.theta).toHaveLength(1);
    expect(s.outerIterations).toBeGreaterThan(0);
    expect(JSON.parse(readFileSync(join(standard, 'theta.json'), 'utf8')).layout.blocks[0].name).toBe('logWeight');
    const learned = join(dir, 'learned');
    const options = { discretization: 'learned', filterSize: 3, groups: 2, tapScale: Math.exp(s.theta[0]), init: 'diverse' };
    r = bilevel(['run', writeJson(dir, 'learned.json', { ...base, oracle: { name: 'piggyback', options } }), '--out', learned, '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(learned, 'summary.json'), 'utf8')).theta).toHaveLength(3 * 3 * 2 * 2);
    expect(JSON.parse(readFileSync(join(learned, 'theta.json'), 'utf8')).layout.blocks[0].shape).toEqual([3, 3, 1, 4]);
    // A regularizer with the piggyback oracle is a config error naming the field.
    const bad = bilevel(['validate', writeJson(dir, 'bad.json', { ...base, regularizer: { name: 'tv' }, oracle: 'piggyback' })]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/regularizer: not used by the piggyback oracle/);
  }, 120_000);
});
