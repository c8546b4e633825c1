import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { DatasetEntry, ManifestFile } from './manifest.js';

// The cache holds each data set in <cacheDir>/<Folder>/<file>. A file is only ever put there by renaming a temp file
// whose content passed its check, so a file that is there is complete and verified.

/** A data set's folder in the cache. */
export function datasetDir(cacheDir: string, entry: DatasetEntry): string {
  return join(cacheDir, entry.folder);
}

/** Where a file of a data set lives in the cache. */
export function cachedPath(cacheDir: string, entry: DatasetEntry, file: ManifestFile): string {
  return join(cacheDir, entry.folder, file.name);
}

/** The files of a data set not (yet) in the cache. */
export function missingFiles(cacheDir: string, entry: DatasetEntry): ManifestFile[] {
  return entry.files.filter((f) => !existsSync(cachedPath(cacheDir, entry, f)));
}

/** A temp file's name beside `dest` (dot-prefixed, unique to this process: never listed as a PNG). */
function tempPath(dest: string): string {
  return join(dirname(dest), `.${basename(dest)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/**
 * Writes `bytes` to a temp file beside `dest`, passes what was written (read back) to `check`, and renames it to `dest`;
 * when `check` or a write throws, the temp file is deleted and the error rethrown (`dest` is untouched).
 */
export function commitVerified(dest: string, bytes: Uint8Array, check: (onDisk: Buffer) => void): void {
  mkdirSync(dirname(dest), { recursive: true });
  const tmp = tempPath(dest);
  try {
    writeFileSync(tmp, bytes);
    check(readFileSync(tmp));
    renameSync(tmp, dest);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** Deletes temp files older than an hour in a data set's folder (left by killed processes; newer ones may be in use). */
export function removeStaleTempFiles(dir: string, now = Date.now()): void {
  if (!existsSync(dir)) return;
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    if (f.startsWith('.') && f.endsWith('.tmp') && now - statSync(p, { throwIfNoEntry: false })!.mtimeMs > 3_600_000) rmSync(p, { force: true });
  }
}

/** Removes a data set's folder from the cache. */
export function removeDataset(cacheDir: string, entry: DatasetEntry): void {
  rmSync(datasetDir(cacheDir, entry), { recursive: true, force: true });
}
