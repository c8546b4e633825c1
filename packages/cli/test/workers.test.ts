import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tinyConfig } from '../../experiment/test/optimizer-configs.js';
import { bilevel, tempDir, writeJson } from './cli.js';

const theta = (dir: string): number[] => JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')).theta;

describe('bilevel run --workers', () => {
  it('--workers 2 --shards 2 learns the θ of --workers 1 (MAID; every optimizer: packages/experiment/test/workers.test.ts)', () => {
    const base = tempDir();
    const config = writeJson(base, 'tiny.json', tinyConfig('maid', 4));
    const runs = [1, 2].map((w) => {
      const out = join(base, `w${w}`);
      const r = bilevel(['run', config, '--out', out, '--quiet', '--workers', String(w), '--shards', '2']);
      expect(r.code, r.stderr).toBe(0);
      return theta(out);
    });
    expect(runs[1]).toEqual(runs[0]);
  }, 120_000);

  it('refuses --workers with the piggyback oracle, naming the fix', () => {
    const base = tempDir();
    const { regularizer: _r, ...rest } = tinyConfig('maid', 2);
    const config = writeJson(base, 'pb.json', { ...rest, oracle: { name: 'piggyback' } });
    const r = bilevel(['run', config, '--out', join(base, 'out'), '--quiet', '--workers', '2']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/in-process oracle, not "piggyback"/);
  });
});
