import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '@bilevel/experiment';
import { tvStart } from '@bilevel/regularizers-icnn';
// @ts-expect-error plain ESM helpers without type declarations
import { icnnAtTv, tvTheta } from '../icnn-tv-start.mjs';

describe('tools/compare/icnn-tv-start', () => {
  const dir = mkdtempSync(join(tmpdir(), 'icnn-tv-'));
  writeFileSync(join(dir, 'theta.json'), JSON.stringify({ regularizer: 'tv', theta: [-7.2, -6.4] }));
  const base = { data: { train: { source: 'synthetic', count: 2, size: [16, 16] }, noise: { sigma: 0.1 } }, regularizer: { name: 'icnn', options: { engine: 'patches', channels: [8, 1] } } };

  it('replaces the regularizer by the ICNN at θ_TV, a valid config that keeps the options tvStart does not set', () => {
    const config = icnnAtTv(base, tvTheta(dir), { size: 5 });
    expect(config.regularizer.options).toEqual({ engine: 'patches', ...tvStart([-7.2, -6.4], { size: 5 }) });
    expect(parseConfig(config).regularizer).toMatchObject({ name: 'icnn' });
  });

  it('refuses a folder without theta.json and a θ of another regularizer', () => {
    expect(() => tvTheta(join(dir, 'missing'))).toThrow(/no theta.json/);
    writeFileSync(join(dir, 'foe.json'), JSON.stringify({ regularizer: 'foe', theta: [1, 2, 3] }));
    expect(() => tvTheta(join(dir, 'foe.json'))).toThrow(/needs the θ of the anisotropic "tv"/);
  });
});
