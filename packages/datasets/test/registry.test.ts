import { mkdirSync, mkdtempSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cachedDatasetFiles, DataUnavailableError, dataSettings, ensureDataset, sha256, type DataSettings } from '@bilevel/datasets';
import { deadPort, fixtureSet, startServer, type FixtureServer } from './registry-server.js';

// The registry against a loopback HTTP server serving a generated fixture data set (4 PNGs, data set "fixture").

let server: FixtureServer;
let fx: ReturnType<typeof fixtureSet>;
let cache: string;

beforeEach(async () => {
  server = await startServer();
  fx = fixtureSet(4, server.url);
  for (const [name, body] of fx.files) server.routes.set(`/up/${name}`, { body });
  cache = mkdtempSync(join(tmpdir(), 'bilevel-cache-'));
});
afterEach(() => server.close());

const settings = (o: Partial<DataSettings> = {}): DataSettings =>
  dataSettings({ cacheDir: cache, mirror: undefined, manifest: fx.manifest, fetch: { timeoutMs: 5000, tries: 3, backoffMs: 5 }, concurrency: 2, ...o });
/** Every file under the cache, relative paths (temp files included). */
const cacheListing = (): string[] => readdirSync(cache, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => join(d.parentPath.slice(cache.length + 1), d.name)).sort();
const hitsOf = (path: string) => server.hits.filter((h) => h === path).length;
const failure = async (p: Promise<unknown>): Promise<DataUnavailableError> => {
  const e = await p.then(() => undefined, (err: unknown) => err);
  expect(e).toBeInstanceOf(DataUnavailableError);
  return e as DataUnavailableError;
};

describe('dataset registry: fetching into the cache', () => {
  it('puts the right files in the cache, byte for byte; a second call downloads nothing', async () => {
    const r = await ensureDataset('fixture', {}, settings());
    expect(r.obtained).toEqual({ mirror: 0, upstream: 4, generated: 0 });
    expect(cacheListing()).toEqual([...fx.files.keys()].map((f) => join('Fixture', f)));
    for (const [name, body] of fx.files) expect(readFileSync(join(cache, 'Fixture', name)).equals(body)).toBe(true);
    expect(r.files).toEqual([...fx.files.keys()].map((f) => join(cache, 'Fixture', f)));
    expect(cachedDatasetFiles('fixture', settings())).toEqual(r.files);
    const hits = server.hits.length;
    const again = await ensureDataset('fixture', { verify: true }, settings());
    expect(again.obtained.upstream).toBe(0);
    expect(server.hits.length).toBe(hits);
  });

  it('a checksum mismatch is a clear error (file, expected and got SHA-256, what to do) and leaves no cache entry', async () => {
    const good = fx.files.get('fix-2.png')!;
    const bad = Buffer.from(good);
    bad[bad.length - 20] ^= 0xff;
    server.routes.set('/up/fix-2.png', { body: bad });
    const e = await failure(ensureDataset('fixture', {}, settings({ concurrency: 1 })));
    expect(e.message).toContain('fix-2.png');
    expect(e.message).toContain(`expected ${sha256(good)}`);
    expect(e.message).toContain(`SHA-256 ${sha256(bad)}`);
    expect(e.message).toContain(`${server.url}/up/fix-2.png`);
    expect(e.fix).toContain('bilevel data fetch fixture --force');
    expect(cacheListing()).toEqual(['Fixture/fix-0.png', 'Fixture/fix-1.png']);
    expect(cachedDatasetFiles('fixture', settings())).toBeUndefined();
  });

  it('a connection cut mid-body is retried, and the retry lands the complete file', async () => {
    server.routes.get('/up/fix-1.png')!.cuts = 2;
    const r = await ensureDataset('fixture', {}, settings());
    expect(r.obtained.upstream).toBe(4);
    expect(hitsOf('/up/fix-1.png')).toBe(3);
    expect(readFileSync(join(cache, 'Fixture/fix-1.png')).equals(fx.files.get('fix-1.png')!)).toBe(true);
  });

  it('a connection cut on every try is reported, and no half file is left in the cache', async () => {
    server.routes.get('/up/fix-0.png')!.cuts = 99;
    const e = await failure(ensureDataset('fixture', {}, settings({ concurrency: 1 })));
    expect(e.message).toMatch(/fix-0\.png failed after 3 tries: connection closed (after \d+ of \d+ bytes|before the whole file arrived)/);
    expect(hitsOf('/up/fix-0.png')).toBe(3);
    expect(cacheListing()).toEqual([]);
  });

  it('HTTP 404 upstream is not retried, and names the URL', async () => {
    server.routes.delete('/up/fix-3.png');
    const e = await failure(ensureDataset('fixture', {}, settings({ concurrency: 1 })));
    expect(e.message).toContain(`${server.url}/up/fix-3.png failed: HTTP 404`);
    expect(hitsOf('/up/fix-3.png')).toBe(1);
  });
});

describe('dataset registry: the mirror, and no network', () => {
  it('a local folder mirror is used first; a file it lacks comes from upstream', async () => {
    const mirror = mkdtempSync(join(tmpdir(), 'bilevel-mirror-'));
    mkdirSync(join(mirror, 'Fixture'));
    for (const name of ['fix-0.png', 'fix-1.png', 'fix-2.png']) writeFileSync(join(mirror, 'Fixture', name), fx.files.get(name)!);
    const r = await ensureDataset('fixture', {}, settings({ mirror }));
    expect(r.obtained).toEqual({ mirror: 3, upstream: 1, generated: 0 });
    expect(server.hits).toEqual(['/up/fix-3.png']);
    for (const [name, body] of fx.files) expect(readFileSync(join(cache, 'Fixture', name)).equals(body)).toBe(true);
  });

  it('an http(s) mirror is used first, and upstream is not asked', async () => {
    for (const [name, body] of fx.files) server.routes.set(`/mirror/Fixture/${name}`, { body });
    const r = await ensureDataset('fixture', {}, settings({ mirror: `${server.url}/mirror/` }));
    expect(r.obtained.mirror).toBe(4);
    expect(server.hits.every((h) => h.startsWith('/mirror/Fixture/'))).toBe(true);
  });

  it('a corrupt mirror copy is an error naming the mirror (not replaced silently)', async () => {
    const mirror = mkdtempSync(join(tmpdir(), 'bilevel-mirror-'));
    mkdirSync(join(mirror, 'Fixture'));
    writeFileSync(join(mirror, 'Fixture', 'fix-0.png'), Buffer.from('not the file'));
    const e = await failure(ensureDataset('fixture', {}, settings({ mirror, concurrency: 1 })));
    expect(e.message).toContain(join(mirror, 'Fixture', 'fix-0.png'));
    expect(e.fix).toContain('BILEVEL_DATA_MIRROR');
    expect(cacheListing()).toEqual([]);
  });

  it('without network and without a mirror, the error says how to get the data', async () => {
    const port = await deadPort();
    const offline = fixtureSet(4, `http://127.0.0.1:${port}`);
    const e = await failure(ensureDataset('fixture', {}, settings({ manifest: offline.manifest })));
    expect(e.message).toContain('ECONNREFUSED');
    expect(e.fix).toContain('`bilevel data fetch fixture`');
    expect(e.fix).toContain('BILEVEL_DATA_MIRROR');
    expect(e.fix).toContain('Fixture/fix-0.png');
    expect(cacheListing()).toEqual([]);
  });

  it('download: false reports missing files without touching the network', async () => {
    const e = await failure(ensureDataset('fixture', { download: false }, settings()));
    expect(e.message).toContain('4 of its 4 files are not in the cache');
    expect(e.fix).toContain('bilevel data fetch fixture');
    expect(server.hits).toEqual([]);
  });

  it('a temp file left by a killed download is never taken for data, and is cleaned up once stale', async () => {
    mkdirSync(join(cache, 'Fixture'));
    const stale = join(cache, 'Fixture', '.fix-0.png.4242.deadbeef.tmp');
    writeFileSync(stale, fx.files.get('fix-0.png')!.subarray(0, 10));
    expect(cachedDatasetFiles('fixture', settings())).toBeUndefined();
    const old = (Date.now() - 2 * 3_600_000) / 1000;
    utimesSync(stale, old, old);
    await ensureDataset('fixture', {}, settings());
    expect(cacheListing()).toEqual([...fx.files.keys()].map((f) => join('Fixture', f)));
  });

  it('--force fetches everything again; verify drops a cached file that was altered', async () => {
    await ensureDataset('fixture', {}, settings());
    writeFileSync(join(cache, 'Fixture', 'fix-1.png'), 'garbage');
    const fixed = await ensureDataset('fixture', { verify: true }, settings());
    expect(fixed.obtained.upstream).toBe(1);
    expect(readFileSync(join(cache, 'Fixture/fix-1.png')).equals(fx.files.get('fix-1.png')!)).toBe(true);
    const forced = await ensureDataset('fixture', { force: true }, settings());
    expect(forced.obtained.upstream).toBe(4);
  });
});
