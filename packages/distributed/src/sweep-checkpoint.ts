// Where a sweep job keeps its checkpoint so that any worker can continue it: the engine's store (Redis), or a folder
// every worker mounts (the sweep's `checkpointDir`).
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { BilevelError, type IterationRecord } from '@bilevel/core';
import { writeAtomic } from '@bilevel/experiment';
import { MissingKeyError, type ArrayStore } from './store.js';

/** The log of a job so far: its iteration rows (and θ after each, when kept). */
export interface SavedProgress {
  rows: IterationRecord[];
  thetas?: number[][];
}

/** A checkpoint (encodeCheckpoint's text) with the log up to its iteration. */
export interface SavedCheckpoint extends SavedProgress {
  checkpoint: string;
}

/** Redis keys of a sweep job. */
export const sweepKeys = (id: string) => ({ checkpoint: `bilevel:sweep:${id}:checkpoint`, result: `bilevel:sweep:${id}:result` });

export interface CheckpointSlot {
  load(): Promise<SavedCheckpoint | undefined>;
  save(saved: SavedCheckpoint): Promise<void>;
  clear(): Promise<void>;
}

/** The checkpoint under `bilevel:sweep:<id>:checkpoint` in the store. */
function storeSlot(store: ArrayStore, key: string): CheckpointSlot {
  return {
    load: async () => {
      try {
        return await store.getJson<SavedCheckpoint>(key);
      } catch (e) {
        if (e instanceof MissingKeyError) return undefined;
        throw e;
      }
    },
    save: (saved) => store.putJson(key, saved),
    clear: () => store.delete([key]),
  };
}

/** The checkpoint as `<dir>/<id>.checkpoint.json` (written atomically). */
function folderSlot(dir: string, id: string): CheckpointSlot {
  const file = join(dir, `${id}.checkpoint.json`);
  return {
    load: async () => {
      if (!existsSync(file)) return undefined;
      try {
        return JSON.parse(readFileSync(file, 'utf8')) as SavedCheckpoint;
      } catch (e) {
        throw new BilevelError(`${file} is unreadable (${(e as Error).message})`, 'delete it: the job then restarts from the beginning');
      }
    },
    save: async (saved) => {
      mkdirSync(dir, { recursive: true });
      writeAtomic(file, JSON.stringify(saved));
    },
    clear: async () => rmSync(file, { force: true }),
  };
}

/** The checkpoint slot of a job: its checkpointDir when it names one, else the store. */
export function checkpointSlot(job: { id: string; checkpointDir?: string }, store: ArrayStore): CheckpointSlot {
  return job.checkpointDir ? folderSlot(job.checkpointDir, job.id) : storeSlot(store, sweepKeys(job.id).checkpoint);
}
