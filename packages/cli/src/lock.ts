import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import lockfile from 'proper-lockfile';
import { BilevelError } from '@bilevel/core';
import { writeAtomic } from '@bilevel/experiment';

/** Who holds a run folder's lock (written beside the lock, for the messages). */
interface Owner {
  pid: number;
  host: string;
  since: string;
}

/** A run folder held by this process until `release`. */
export interface RunLock {
  release(): Promise<void>;
}

/** Another live process writes the run folder. */
export class RunFolderLockedError extends BilevelError {}

/** Age after which a lock held from another host is stale (its process cannot be checked from here). */
const STALE_MS = 24 * 3600 * 1000;
/** The owner file, inside the lock folder: a lock and its owner are made and removed together. */
const OWNER = 'owner.json';
/** A lock without an owner file older than this was left by a process killed between taking it and naming itself. */
const ORPHAN_MS = 2_000;

function readOwner(file: string): Owner | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Owner;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes `<dir>.lock` when it is stale: its owner on this host is gone, its owner on another host has held it for over
 * a day, or it names no owner and is older than ORPHAN_MS (a process killed between taking it and naming itself; a
 * younger one is a process in that instant, and stays). The lock is renamed aside first (atomic: of two processes
 * taking over, one wins).
 */
function takeOverStale(dir: string, warn: (message: string) => void): void {
  const lock = `${dir}.lock`;
  if (!existsSync(lock)) return;
  const owner = readOwner(join(lock, OWNER));
  const age = Date.now() - statSync(lock).mtimeMs;
  const stale = owner ? (owner.host === hostname() ? !alive(owner.pid) : age > STALE_MS) : age > ORPHAN_MS;
  if (!stale) return;
  const aside = `${lock}.stale-${process.pid}`;
  try {
    renameSync(lock, aside);
  } catch {
    return; // another process took it over first
  }
  rmSync(aside, { recursive: true, force: true });
  warn(owner
    ? `took over the lock of ${dir}: process ${owner.pid}, which held it since ${owner.since}, is gone`
    : `took over the lock of ${dir}: it named no owner (its process was killed while taking it)`);
}

/**
 * One run folder, one process (`run`, `resume`): a lock beside the folder (`<dir>.lock`, proper-lockfile) and its
 * owner (`<dir>.lock/owner.json`: PID, host, start). Staleness is decided by the owner's PID on this host, not by the
 * lock's age: a CPU-bound run may not refresh the lock for minutes (its solver loop starves timers), so an age rule
 * would hand a live run's folder to a second process. A lock whose process on this host is gone (killed) is taken over
 * at once, with a warning; a live one is refused naming the process; one held from another host counts as stale only
 * after a day.
 */
export async function lockRunFolder(folder: string, warn: (message: string) => void): Promise<RunLock> {
  // Beside the folder (so `run --force`, which empties it, keeps the lock); its parent is made if missing.
  const dir = resolve(folder);
  mkdirSync(dirname(dir), { recursive: true });
  takeOverStale(dir, warn);
  const ownerFile = join(`${dir}.lock`, OWNER);
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(dir, {
      realpath: false, stale: STALE_MS, update: STALE_MS / 4, retries: 0,
      onCompromised: (e) => warn(`the lock of ${dir} was lost (${e.message}); another process may write the folder now`),
    });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ELOCKED') throw e;
    const owner = readOwner(ownerFile);
    const who = owner ? `process ${owner.pid} on ${owner.host} (since ${owner.since})` : 'another process';
    throw new RunFolderLockedError(`${dir} is being written by ${who}`, `wait until it ends or stop it: two processes may not write one run folder (if that process is gone, delete ${dir}.lock)`);
  }
  writeAtomic(ownerFile, JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() } satisfies Owner));
  return {
    release: async () => {
      rmSync(ownerFile, { force: true });
      await release();
    },
  };
}
