import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bilevel, ROOT, tempDir } from './cli.js';

// `bilevel data list | fetch`, with its own cache (BILEVEL_DATA_DIR) and ../shared/data as the mirror where it exists.

const DATA = resolve(ROOT, '../shared/data');
const hasData = existsSync(join(DATA, 'Kodak24-96'));
if (!hasData) console.log(`data-command.test.ts: skipping the fetch through the mirror: ${DATA} is absent`);

describe('bilevel data', () => {
  it('list shows every data set with its images, sizes and whether it is cached', () => {
    const r = bilevel(['data', 'list'], { BILEVEL_DATA_DIR: tempDir(), BILEVEL_DATA_MIRROR: '' });
    expect(r.code, r.stderr).toBe(0);
    for (const name of ['kodak24', 'kodak24-96', 'kodak24-256', 'bsd68', 'train400', 'set12', 'shepp-logan']) expect(r.stdout).toMatch(new RegExp(`^  ${name} +\\d+ `, 'm'));
    expect(r.stdout).toMatch(/^ {2}kodak24-96 +24 +96×96 .*not cached/m);
    expect(r.stdout).toMatch(/^ {2}train400 +400 +180×180 /m);
    expect(r.stdout).toContain('mirror: none');
  });

  it.skipIf(!hasData)('fetch takes a data set from BILEVEL_DATA_MIRROR into the cache; list then shows it cached', () => {
    const cache = tempDir();
    const env = { BILEVEL_DATA_DIR: cache, BILEVEL_DATA_MIRROR: DATA };
    const r = bilevel(['data', 'fetch', 'kodak24-96'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`kodak24-96: 24 files in ${join(cache, 'Kodak24-96')}: fetched 24 from the mirror (${DATA})`);
    expect(readdirSync(join(cache, 'Kodak24-96')).sort()).toEqual(readdirSync(join(DATA, 'Kodak24-96')).filter((f) => f.endsWith('.png')).sort());
    const again = bilevel(['data', 'fetch', 'kodak24-96'], env);
    expect(again.stdout).toContain('already cached, every file checked');
    expect(bilevel(['data', 'list'], env).stdout).toMatch(/^ {2}kodak24-96 +24 +96×96 +\d+ kB +cached /m);
  });

  it('an unknown name fails with the names to choose from', () => {
    const r = bilevel(['data', 'fetch', 'kodak25'], { BILEVEL_DATA_DIR: tempDir() });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('unknown data set "kodak25"');
    expect(r.stderr).toContain('kodak24-96');
  });
});
