import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BilevelError, type RunCheckpoint } from '@bilevel/core';
import { writeAtomic } from './files.js';

const FILE = 'checkpoint.json';
const VERSION = 2;

const base64 = (a: Float32Array | Float64Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
function bytes(s: string): ArrayBuffer {
  const b = Buffer.from(s, 'base64');
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

/**
 * JSON that keeps every bit of a state: typed arrays as base64 ({ $f32 } / { $f64 }), and the numbers JSON cannot
 * hold (NaN, ±Infinity, −0) as { $num }. So optimizer and oracle states resume bit-for-bit.
 */
function replacer(_key: string, v: unknown): unknown {
  if (v instanceof Float32Array) return { $f32: base64(v) };
  if (v instanceof Float64Array) return { $f64: base64(v) };
  if (typeof v === 'number' && (!Number.isFinite(v) || Object.is(v, -0))) return { $num: Object.is(v, -0) ? '-0' : String(v) };
  return v;
}

function reviver(_key: string, v: unknown): unknown {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length !== 1) return v;
  if (typeof o.$f32 === 'string') return new Float32Array(bytes(o.$f32));
  if (typeof o.$f64 === 'string') return new Float64Array(bytes(o.$f64));
  if (typeof o.$num === 'string') return o.$num === '-0' ? -0 : Number(o.$num);
  return v;
}

/** A checkpoint as text (exact: see replacer). */
export function encodeCheckpoint(c: RunCheckpoint): string {
  return JSON.stringify({ version: VERSION, iterations: c.iterations, optimizer: c.optimizer, oracle: c.oracle }, replacer);
}

/** The inverse of encodeCheckpoint; `where` names the source in errors. */
export function decodeCheckpoint(text: string, where = 'checkpoint'): RunCheckpoint {
  let raw: { version: number } & RunCheckpoint;
  try {
    raw = JSON.parse(text, reviver) as typeof raw;
  } catch (e) {
    throw new BilevelError(`${where} is unreadable (${(e as Error).message})`, 'delete it to restart the run from the beginning');
  }
  if (raw.version !== VERSION) throw new BilevelError(`${where} has checkpoint format ${raw.version}, this bilevel reads ${VERSION}`, 'delete it to restart the run, or resume with the bilevel version that wrote it');
  return { iterations: raw.iterations, optimizer: raw.optimizer, oracle: raw.oracle };
}

/**
 * Saves a run checkpoint (optimizer state, oracle state with its accepted evaluation, log position) atomically
 * (write, then rename): a kill at any moment leaves the previous one intact.
 */
export function saveCheckpoint(dir: string, c: RunCheckpoint): void {
  writeAtomic(join(dir, FILE), encodeCheckpoint(c));
}

/** Reads `dir`/checkpoint.json (undefined when there is none). */
export function loadCheckpoint(dir: string): RunCheckpoint | undefined {
  const f = join(dir, FILE);
  if (!existsSync(f)) return undefined;
  return decodeCheckpoint(readFileSync(f, 'utf8'), f);
}

/** Keeps the first `rows` lines of iterations.jsonl (the log position of a checkpoint). */
export function truncateLog(file: string, rows: number): string[] {
  const lines = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()) : [];
  if (lines.length < rows) throw new BilevelError(`${file} has ${lines.length} rows but the checkpoint is at iteration ${rows}`, 'the output folder was edited: restart the run with --force');
  const kept = lines.slice(0, rows);
  writeFileSync(file, kept.map((l) => l + '\n').join(''));
  return kept;
}
