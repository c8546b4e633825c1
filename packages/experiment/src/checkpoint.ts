import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BilevelError, type RunCheckpoint } from '@bilevel/core';
import { writeAtomic } from './output.js';

const FILE = 'checkpoint.json';

function encode(a: Float32Array | null): string | null {
  return a && Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
}

function decode(s: string | null): Float32Array | null {
  if (s === null) return null;
  const b = Buffer.from(s, 'base64');
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

/** Saves a checkpoint atomically (write, then rename): a kill at any moment leaves the previous one intact. */
export function saveCheckpoint(dir: string, c: RunCheckpoint): void {
  const o = c.oracle;
  writeAtomic(join(dir, FILE), JSON.stringify({
    version: 1, iterations: c.iterations, optimizer: c.optimizer,
    oracle: { ...o, x: encode(o.x), q: encode(o.q) },
  }));
}

export function loadCheckpoint(dir: string): RunCheckpoint | undefined {
  const f = join(dir, FILE);
  if (!existsSync(f)) return undefined;
  let raw: { version: number; iterations: number; optimizer: unknown; oracle: RunCheckpoint['oracle'] & { x: string; q: string | null } };
  try {
    raw = JSON.parse(readFileSync(f, 'utf8'));
  } catch (e) {
    throw new BilevelError(`${f} is unreadable (${(e as Error).message})`, 'delete it to restart the run from the beginning');
  }
  return { iterations: raw.iterations, optimizer: raw.optimizer, oracle: { ...raw.oracle, x: decode(raw.oracle.x)!, q: decode(raw.oracle.q) } };
}

/** Keeps the first `rows` lines of iterations.jsonl (the log position of a checkpoint). */
export function truncateLog(file: string, rows: number): string[] {
  const lines = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()) : [];
  if (lines.length < rows) throw new BilevelError(`${file} has ${lines.length} rows but the checkpoint is at iteration ${rows}`, 'the output folder was edited: restart the run with --force');
  const kept = lines.slice(0, rows);
  writeFileSync(file, kept.map((l) => l + '\n').join(''));
  return kept;
}
