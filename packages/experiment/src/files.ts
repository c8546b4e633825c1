import { renameSync, writeFileSync } from 'node:fs';

/** Writes `data` to `file` atomically (write a sibling temp file, then rename): a kill leaves the old file or the new one. */
export function writeAtomic(file: string, data: string | Buffer): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}
