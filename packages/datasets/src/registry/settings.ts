import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { bundledManifest, type Manifest } from './manifest.js';

/** How downloads behave: per-request timeout, tries, and the first back-off (doubled after each failed try). */
export interface FetchOptions {
  timeoutMs: number;
  tries: number;
  backoffMs: number;
}

/** Where named data sets live and come from. */
export interface DataSettings {
  /** The cache: BILEVEL_DATA_DIR, else ~/.cache/bilevel. */
  cacheDir: string;
  /** BILEVEL_DATA_MIRROR: a folder or http(s) URL laid out like ../shared/data (`<mirror>/<Folder>/<file>`), tried first. */
  mirror?: string;
  manifest: Manifest;
  fetch: FetchOptions;
  /** Parallel downloads (default 6). */
  concurrency: number;
}

export const DEFAULT_FETCH: FetchOptions = { timeoutMs: 120_000, tries: 3, backoffMs: 500 };

/** A local mirror path resolved from the current folder; URLs are kept as they are. */
function mirrorLocation(m: string | undefined): string | undefined {
  if (!m) return undefined;
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(m) || isAbsolute(m) ? m : resolve(m);
}

/** The settings from the environment (BILEVEL_DATA_DIR, BILEVEL_DATA_MIRROR) and the bundled manifest, with `o` on top. */
export function dataSettings(o: Partial<DataSettings> = {}): DataSettings {
  const env = process.env;
  return {
    cacheDir: o.cacheDir ?? (env.BILEVEL_DATA_DIR ? resolve(env.BILEVEL_DATA_DIR) : join(homedir(), '.cache', 'bilevel')),
    mirror: 'mirror' in o ? mirrorLocation(o.mirror) : mirrorLocation(env.BILEVEL_DATA_MIRROR),
    manifest: o.manifest ?? bundledManifest(),
    fetch: { ...DEFAULT_FETCH, ...o.fetch },
    concurrency: o.concurrency ?? 6,
  };
}
