import { renameSync, rmSync, writeFileSync } from 'node:fs';

/**
 * Writes `data` to `file` atomically (write a sibling temp file, then rename): a kill leaves the old file or the new
 * one, and a failed write (disk full) removes the temp file and leaves the old file.
 */
export function writeAtomic(file: string, data: string | Buffer): void {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}
