import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BilevelError, type RunCheckpoint } from '@bilevel/core';
import { writeAtomic } from './files.js';

const FILE = 'checkpoint.json';
/** The checkpoint before the last one: used when the last one is torn or was edited. */
const PREVIOUS = 'checkpoint.prev.json';
/** Format 3 adds the SHA-256 of the body, the run's seconds and its segment; format 2 files are still read. */
const VERSION = 3;
const READS = [2, 3];

/** A checkpoint whose text does not match its SHA-256 (torn by a crash of the file system, or edited). */
export class CorruptCheckpointError extends BilevelError {}

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

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
/** The trailing checksum field of a format-3 checkpoint: `…,"sha256":"<hex>"}`. */
const CHECKSUM = /,"sha256":"([0-9a-f]{64})"}$/;

/** A checkpoint as text (exact: see replacer), ending in the SHA-256 of the text before it. */
export function encodeCheckpoint(c: RunCheckpoint): string {
  const body = JSON.stringify({ version: VERSION, iterations: c.iterations, seconds: c.seconds, segment: c.segment, optimizer: c.optimizer, oracle: c.oracle }, replacer);
  return `${body.slice(0, -1)},"sha256":"${sha256(body)}"}`;
}

/** The body of a checkpoint's text, its checksum verified (format 3; format 2 had none). */
function verifiedBody(text: string, where: string): string {
  const m = CHECKSUM.exec(text);
  if (!m) {
    // Formats before 3 had no checksum (the version check below reads 2, refuses others).
    if (!/^\{\s*"version"\s*:\s*3\s*,/.test(text) && /^\{\s*"version"\s*:\s*\d+/.test(text)) return text;
    throw new CorruptCheckpointError(`${where} is incomplete or edited: it has no checksum at its end`, 'it was torn or changed by hand; delete it to restart the run from the beginning');
  }
  const body = `${text.slice(0, m.index)}}`;
  if (sha256(body) !== m[1]) throw new CorruptCheckpointError(`${where} does not match its SHA-256 (torn or edited)`, 'delete it to restart the run from the beginning');
  return body;
}

/** The inverse of encodeCheckpoint; `where` names the source in errors. */
export function decodeCheckpoint(text: string, where = 'checkpoint'): RunCheckpoint {
  const body = verifiedBody(text.trimEnd(), where);
  let raw: { version: number } & RunCheckpoint;
  try {
    raw = JSON.parse(body, reviver) as typeof raw;
  } catch (e) {
    throw new CorruptCheckpointError(`${where} is unreadable (${(e as Error).message})`, 'delete it to restart the run from the beginning');
  }
  if (!READS.includes(raw.version)) throw new BilevelError(`${where} has checkpoint format ${raw.version}, this bilevel reads ${READS.join(' and ')}`, 'delete it to restart the run, or resume with the bilevel version that wrote it');
  for (const field of ['iterations', 'optimizer', 'oracle'] as const) {
    if (raw[field] === undefined || raw[field] === null) throw new CorruptCheckpointError(`${where} has no "${field}"`, 'it was edited or written by other code; delete it to restart the run');
  }
  return { iterations: raw.iterations, optimizer: raw.optimizer, oracle: raw.oracle, seconds: raw.seconds, segment: raw.segment };
}

/** A checkpoint could not be written (disk full, permissions): the run stops; the previous checkpoint is intact. */
export class CheckpointWriteError extends BilevelError {}

/**
 * Saves a run checkpoint (optimizer state, oracle state with its accepted evaluation, log position, seconds)
 * atomically (write, then rename), keeping the one before as checkpoint.prev.json: a kill at any moment leaves a good
 * one. A failed write throws CheckpointWriteError and changes neither file.
 */
export function saveCheckpoint(dir: string, c: RunCheckpoint): void {
  const file = join(dir, FILE);
  const text = encodeCheckpoint(c);
  try {
    if (existsSync(file)) writeAtomic(join(dir, PREVIOUS), readFileSync(file, 'utf8'));
    writeAtomic(file, text);
  } catch (e) {
    throw new CheckpointWriteError(`cannot write the checkpoint of iteration ${c.iterations} in ${dir} (${(e as Error).message.split('\n')[0]})`,
      'free disk space or fix the folder\'s permissions, then `bilevel resume` continues from the last checkpoint written');
  }
}

/** What loadCheckpoint found: the checkpoint, and a warning when the last one was bad and the one before was used. */
export interface LoadedCheckpoint {
  checkpoint: RunCheckpoint;
  warning?: string;
}

/**
 * Reads `dir`/checkpoint.json (undefined when there is none). When it is torn or edited, the one before
 * (checkpoint.prev.json) is used if it is good, with a warning saying why; otherwise the error says what is wrong.
 */
export function loadCheckpoint(dir: string): LoadedCheckpoint | undefined {
  const f = join(dir, FILE);
  if (!existsSync(f)) return undefined;
  try {
    return { checkpoint: decodeCheckpoint(readFileSync(f, 'utf8'), f) };
  } catch (e) {
    const prev = join(dir, PREVIOUS);
    if (!(e instanceof CorruptCheckpointError) || !existsSync(prev)) throw e;
    const checkpoint = decodeCheckpoint(readFileSync(prev, 'utf8'), prev);
    return { checkpoint, warning: `${(e as Error).message.split('\n')[0]}; continuing from the one before it (iteration ${checkpoint.iterations})` };
  }
}

/** Makes the checkpoint used by a resume the current one again (after loadCheckpoint fell back to the previous one). */
export function restorePreviousCheckpoint(dir: string): void {
  writeAtomic(join(dir, FILE), readFileSync(join(dir, PREVIOUS)));
}

/** Keeps the first `rows` lines of iterations.jsonl (the log position of a checkpoint). */
export function truncateLog(file: string, rows: number): string[] {
  const lines = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()) : [];
  if (lines.length < rows) throw new BilevelError(`${file} has ${lines.length} rows but the checkpoint is at iteration ${rows}`, 'the output folder was edited: restart the run with --force');
  const kept = lines.slice(0, rows);
  // Atomic: a kill mid-rewrite leaves the old log (still ≥ the checkpoint's rows), never an emptied one.
  writeAtomic(file, kept.map((l) => l + '\n').join(''));
  return kept;
}
