import { existsSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunCheckpoint } from '@bilevel/core';
import { CheckpointWriteError, CorruptCheckpointError, decodeCheckpoint, encodeCheckpoint, loadCheckpoint, saveCheckpoint } from '@bilevel/experiment';

const checkpoint = (iterations: number): RunCheckpoint => ({
  iterations, seconds: 1.5 * iterations, segment: 1, optimizer: { theta: [1, -2], lr: NaN },
  oracle: { x: Float32Array.from([1, 2, 3]), q: null, counters: { lowerIterations: 3, cgIterations: 4, lowerSeconds: 0, cgSeconds: 0, probeWork: 0 }, lipschitz: { jacobianNorm: 1, lipschitzJ: 2, lipschitzHessian: 3 } },
});
const dir = () => mkdtempSync(join(tmpdir(), 'bilevel-ckpt-'));

describe('checkpoints: checksum, the one before, failed writes', () => {
  it('round-trips exactly with its seconds and segment; a changed byte is detected', () => {
    const text = encodeCheckpoint(checkpoint(4));
    const back = decodeCheckpoint(text);
    expect(back).toMatchObject({ iterations: 4, seconds: 6, segment: 1 });
    expect(back.oracle.x).toEqual(Float32Array.from([1, 2, 3]));
    const edited = text.replace('"iterations":4', '"iterations":5');
    expect(() => decodeCheckpoint(edited, 'ck')).toThrow(CorruptCheckpointError);
    expect(() => decodeCheckpoint(edited, 'ck')).toThrow(/ck does not match its SHA-256/);
    expect(() => decodeCheckpoint(text.slice(0, text.length / 2), 'ck')).toThrow(/ck is incomplete or edited/);
  });

  it('a torn last checkpoint falls back to the one before, saying why; both bad: the error names the file', () => {
    const d = dir();
    saveCheckpoint(d, checkpoint(2));
    saveCheckpoint(d, checkpoint(4));
    expect(loadCheckpoint(d)?.checkpoint.iterations).toBe(4);
    const f = join(d, 'checkpoint.json');
    writeFileSync(f, readFileSync(f, 'utf8').slice(0, 100));
    const loaded = loadCheckpoint(d)!;
    expect(loaded.checkpoint.iterations).toBe(2);
    expect(loaded.warning).toMatch(/checkpoint\.json is incomplete or edited.*continuing from the one before it \(iteration 2\)/);
    writeFileSync(join(d, 'checkpoint.prev.json'), '{"version":3,');
    expect(() => loadCheckpoint(d)).toThrow(/checkpoint\.prev\.json is incomplete or edited/);
  });

  // A real full disk: the temp file writeAtomic writes is made a link to /dev/full (every write fails with ENOSPC).
  it.skipIf(!existsSync('/dev/full'))('a write on a full disk throws CheckpointWriteError, leaves the previous checkpoint intact and no temp file', () => {
    const d = dir();
    saveCheckpoint(d, checkpoint(3));
    const before = readFileSync(join(d, 'checkpoint.json'), 'utf8');
    const tmp = join(d, `checkpoint.json.tmp-${process.pid}`);
    symlinkSync('/dev/full', tmp);
    expect(() => saveCheckpoint(d, checkpoint(6))).toThrow(CheckpointWriteError);
    expect(existsSync(tmp)).toBe(false);
    symlinkSync('/dev/full', tmp);
    expect(() => saveCheckpoint(d, checkpoint(6))).toThrow(/cannot write the checkpoint of iteration 6 in .*ENOSPC.*free disk space/s);
    expect(readFileSync(join(d, 'checkpoint.json'), 'utf8')).toBe(before);
    expect(loadCheckpoint(d)?.checkpoint.iterations).toBe(3);
    expect(readdirSync(d).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });
});
