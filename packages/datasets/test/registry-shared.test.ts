import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, ConfigErrors } from '@bilevel/core';
import {
  bundledManifest, DATASET_NAMES, decodeRaster8, ensureImageSource, GENERATORS, loadImages, pixelSha256, sha256, type AnyImageSource,
} from '@bilevel/datasets';

// The committed manifest against ../shared/data (skipped without it), and named sources in configs.

const ROOT = resolve(__dirname, '../../..');
const DATA = resolve(ROOT, '../shared/data');
const hasData = existsSync(DATA);
if (!hasData) console.log(`registry-shared.test.ts: skipping the checks against ${DATA}: the shared data folder is absent`);

/** Runs `f` with environment variables set (undefined: unset), restoring them after. */
async function withEnv<T>(vars: Record<string, string | undefined>, f: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const set = (v: Record<string, string | undefined>) => {
    for (const [k, x] of Object.entries(v)) if (x === undefined) delete process.env[k]; else process.env[k] = x;
  };
  set(vars);
  try {
    return await f();
  } finally {
    set(saved);
  }
}

describe('the data set manifest', () => {
  it('names the data sets a config can use, each with files', () => {
    expect(bundledManifest().datasets.map((d) => d.name)).toEqual([...DATASET_NAMES]);
  });

  it.skipIf(!hasData)("matches ../shared/data: every file's size and SHA-256, and no file missing or extra", () => {
    for (const d of bundledManifest().datasets) {
      const folder = join(DATA, d.folder);
      expect(readdirSync(folder).filter((f) => f.endsWith('.png')).sort(), d.folder).toEqual(d.files.map((f) => f.name));
      for (const f of d.files) {
        const bytes = readFileSync(join(folder, f.name));
        expect([bytes.length, sha256(bytes)], `${d.folder}/${f.name}`).toEqual([f.size, f.sha256]);
        if (f.pixels) expect(pixelSha256(decodeRaster8(bytes)), `${d.folder}/${f.name} pixels`).toBe(f.pixels);
      }
    }
  });

  it('byte copies name their upstream blob at a fixed commit; derived sets their colour original', () => {
    for (const d of bundledManifest().datasets) for (const f of d.files) {
      if (d.origin === 'copy') expect(f.url).toMatch(new RegExp(`^https://raw\\.githubusercontent\\.com/[^/]+/[^/]+/[0-9a-f]{40}/.+/${f.name.replace('.', '\\.')}$`));
      if (d.origin === 'luma' || d.origin === 'resize-luma') expect(f.original).toMatch(/^https:\/\/raw\.githubusercontent\.com\/MohammadSadeghSalehi\/MAID\/6986372b4cdb0f809adf4f449afc0be21c2784f5\/Kodak_dataset\/kodim\d\d\.png$/);
    }
  });

  it("shepp-logan is generated here with the pixels of CT_SheppLogan (the manifest's hashes)", () => {
    const d = bundledManifest().datasets.find((x) => x.name === 'shepp-logan')!;
    for (const f of d.files) expect(pixelSha256(GENERATORS['shepp-logan'](f.width, f.height)), f.name).toBe(f.pixels);
  });
});

describe('named image sources', () => {
  it('an unknown name is a config error on data.train.source listing the names', async () => {
    const { parseConfig } = await import('@bilevel/experiment');
    const e = (() => { try { parseConfig({ data: { train: { source: 'kodak25' }, noise: { sigma: 0.1 } }, regularizer: { name: 'tv' } }); } catch (err) { return err; } })();
    expect(e).toBeInstanceOf(ConfigErrors);
    const issue = (e as ConfigErrors).issues.find((i) => i.path === 'data.train.source')!;
    expect(issue.fix).toContain('"kodak24-96"');
    expect(issue.fix).toContain('bilevel data list');
  });

  it('not cached and not to be downloaded: the error is on data.train.source and says how to get the data', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'bilevel-cache-'));
    await withEnv({ BILEVEL_DATA_DIR: cache, BILEVEL_DATA_MIRROR: undefined }, async () => {
      const e = await ensureImageSource({ source: 'kodak24-96' }, 'data.train', { download: false }).catch((err: unknown) => err);
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).path).toBe('data.train.source');
      expect((e as ConfigError).fix).toContain('bilevel data fetch kodak24-96');
      expect((e as ConfigError).fix).toContain('BILEVEL_DATA_MIRROR');
      expect(() => loadImages({ source: 'kodak24-96' }, 'data.train')).toThrow(/data\.train\.source.*not in the cache[\s\S]*bilevel data fetch kodak24-96/);
    });
  });

  it.skipIf(!hasData)('through BILEVEL_DATA_MIRROR=../shared/data, "kodak24-96" loads the pixels of the shared folder, in order', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'bilevel-cache-'));
    await withEnv({ BILEVEL_DATA_DIR: cache, BILEVEL_DATA_MIRROR: DATA }, async () => {
      const named: AnyImageSource = { source: 'kodak24-96', count: 5, offset: 3 };
      await ensureImageSource(named, 'data.train');
      const a = loadImages(named, 'data.train');
      const b = loadImages({ source: 'folder', path: join(DATA, 'Kodak24-96'), count: 5, offset: 3 });
      expect(a.map((i) => i.name?.split('/').pop())).toEqual(['kodim04.png', 'kodim05.png', 'kodim06.png', 'kodim07.png', 'kodim08.png']);
      a.forEach((img, i) => expect(Array.from(img.data)).toEqual(Array.from(b[i].data)));
    });
  });

  it('the example configs name data sets, not ../shared paths', () => {
    const dir = join(ROOT, 'examples');
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.json'))) expect(readFileSync(join(dir, f), 'utf8'), f).not.toMatch(/shared\/data/);
  });
});
