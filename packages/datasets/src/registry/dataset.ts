import { readFileSync, rmSync } from 'node:fs';
import { BilevelError } from '@bilevel/core';
import { cachedPath, datasetDir, missingFiles, removeDataset, removeStaleTempFiles } from './cache.js';
import { DataUnavailableError, DownloadError } from './errors.js';
import { findDataset, type DatasetEntry, type ManifestFile } from './manifest.js';
import { obtainFile, type Provenance } from './obtain.js';
import { dataSettings, type DataSettings } from './settings.js';
import { cachedFileIsValid } from './verify.js';

/** A data set as `bilevel data list` shows it. */
export interface DatasetStatus {
  name: string;
  title: string;
  folder: string;
  origin: DatasetEntry['origin'];
  files: number;
  /** Files of it in the cache. */
  cached: number;
  /** Total bytes of its files (as in ../shared/data). */
  bytes: number;
  /** Its distinct image sizes, "W×H". */
  sizes: string[];
  dir: string;
}

export interface EnsureOptions {
  /** Fetch missing files (mirror, then upstream); false: fail if any is missing (default true). */
  download?: boolean;
  /** Remove the cached copy first and fetch everything again. */
  force?: boolean;
  /** Check the files already cached too (an invalid one is fetched again). */
  verify?: boolean;
  /** Called after each file put into the cache. */
  onFile?: (file: string, from: Provenance) => void;
}

export interface EnsureResult {
  dir: string;
  /** The cached files' paths, in manifest order. */
  files: string[];
  obtained: Record<Provenance, number>;
}

/** The manifest entry of a name; an unknown one is a BilevelError listing the names. */
export function datasetEntry(name: string, s: DataSettings = dataSettings()): DatasetEntry {
  const entry = findDataset(s.manifest, name);
  if (!entry) throw new BilevelError(`unknown data set "${name}"`, `use one of: ${s.manifest.datasets.map((d) => d.name).join(', ')} (\`bilevel data list\`)`);
  return entry;
}

/** The distinct "W×H" of files, the most common first. */
function bySize(files: readonly ManifestFile[]): string[] {
  const n = new Map<string, number>();
  for (const f of files) n.set(`${f.width}×${f.height}`, (n.get(`${f.width}×${f.height}`) ?? 0) + 1);
  return [...n].sort((a, b) => b[1] - a[1]).map(([k]) => k);
}

/** What `bilevel data list` shows for every data set of the manifest. */
export function listDatasets(s: DataSettings = dataSettings()): DatasetStatus[] {
  return s.manifest.datasets.map((d) => ({
    name: d.name, title: d.title, folder: d.folder, origin: d.origin, files: d.files.length,
    cached: d.files.length - missingFiles(s.cacheDir, d).length, bytes: d.files.reduce((a, f) => a + f.size, 0),
    sizes: bySize(d.files), dir: datasetDir(s.cacheDir, d),
  }));
}

/** The cached files of a data set (manifest order) when all are there, else undefined; never fetches. */
export function cachedDatasetFiles(name: string, s: DataSettings = dataSettings()): string[] | undefined {
  const entry = datasetEntry(name, s);
  return missingFiles(s.cacheDir, entry).length === 0 ? entry.files.map((f) => cachedPath(s.cacheDir, entry, f)) : undefined;
}

/** How to get a data set that cannot be fetched here. */
export function howToGet(entry: DatasetEntry, s: DataSettings): string {
  const example = `${entry.folder}/${entry.files[0].name}`;
  const mirror = s.mirror ? `BILEVEL_DATA_MIRROR (${s.mirror}) lacks ${example}: point it at a copy that has it` : `set BILEVEL_DATA_MIRROR to a local copy laid out like ../shared/data (a folder holding ${example} …) or to an http(s) URL of one`;
  return `run \`bilevel data fetch ${entry.name}\` where there is network (it fills ${datasetDir(s.cacheDir, entry)}; BILEVEL_DATA_DIR moves the cache), or ${mirror}`;
}

/** Runs `work` on the items, `n` at a time; after the first failure starts no more, then throws it. */
async function pool<T>(items: readonly T[], n: number, work: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  const failures: unknown[] = [];
  const worker = async () => {
    while (failures.length === 0 && next < items.length) {
      const item = items[next++];
      try {
        await work(item);
      } catch (e) {
        failures.push(e);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(n, items.length)) }, worker));
  if (failures.length) throw failures[0];
}

/** Cached files that fail their check, deleted (so they are fetched again). */
function dropInvalid(entry: DatasetEntry, s: DataSettings): void {
  for (const f of entry.files) {
    const p = cachedPath(s.cacheDir, entry, f);
    let bytes: Buffer;
    try {
      bytes = readFileSync(p);
    } catch {
      continue;
    }
    if (!cachedFileIsValid(f, bytes)) rmSync(p, { force: true });
  }
}

/**
 * Makes sure every file of a named data set is in the cache (BILEVEL_DATA_DIR or ~/.cache/bilevel), fetching the
 * missing ones (the mirror first, then upstream); returns their paths. Failures are DataUnavailableError with the fix.
 */
export async function ensureDataset(name: string, o: EnsureOptions = {}, s: DataSettings = dataSettings()): Promise<EnsureResult> {
  const entry = datasetEntry(name, s);
  const dir = datasetDir(s.cacheDir, entry);
  if (o.force) removeDataset(s.cacheDir, entry);
  removeStaleTempFiles(dir);
  if (o.verify) dropInvalid(entry, s);
  const missing: ManifestFile[] = missingFiles(s.cacheDir, entry);
  const obtained: Record<Provenance, number> = { mirror: 0, upstream: 0, generated: 0 };
  if (missing.length && o.download === false) {
    throw new DataUnavailableError(name, `${missing.length} of its ${entry.files.length} files are not in the cache (${dir})`, howToGet(entry, s));
  }
  try {
    await pool(missing, s.concurrency, async (f) => {
      const from = await obtainFile(entry, f, s);
      obtained[from]++;
      o.onFile?.(f.name, from);
    });
  } catch (e) {
    const reason = (e as Error).message.split('\n')[0];
    const fix = e instanceof BilevelError && !(e instanceof DownloadError) && e.hint ? e.hint : howToGet(entry, s);
    throw new DataUnavailableError(name, reason, fix, { cause: e });
  }
  return { dir, files: entry.files.map((f) => cachedPath(s.cacheDir, entry, f)), obtained };
}
