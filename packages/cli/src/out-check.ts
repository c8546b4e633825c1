// Checks an output folder before any work starts: a run or sweep that cannot write its results is refused at once,
// naming the folder and what to change, and nothing is created.
import { accessSync, constants, existsSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve, sep } from 'node:path';
import { BilevelError } from '@bilevel/core';

/** Kernel file systems no results can go to. */
const SPECIAL = ['/proc', '/sys', '/dev'];

/** The nearest folder above `dir` (or dir itself) that exists; a file on the way is refused. */
function nearestExisting(dir: string, flag: string): string {
  let d = dir;
  while (!existsSync(d)) d = dirname(d);
  if (!statSync(d).isDirectory()) {
    throw new BilevelError(`${flag} "${dir}" cannot be created: "${d}" is a file, not a folder`, `choose another ${flag}, outside "${d}"`);
  }
  return d;
}

/** Creates and removes a probe file in `folder` (root may write where the mode bits say no; a read-only mount refuses). */
function probeWritable(folder: string, dir: string, flag: string): void {
  const probe = resolve(folder, `.bilevel-write-probe-${process.pid}`);
  try {
    accessSync(folder, constants.W_OK);
    writeFileSync(probe, '');
    rmSync(probe, { force: true });
  } catch (e) {
    throw new BilevelError(`${flag} "${dir}": cannot write in "${folder}" (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, `choose a ${flag} folder you may write, or fix the permissions of "${folder}"`);
  }
}

/**
 * Refuses an output folder that cannot hold results: an empty name, a file, a folder under /proc, /sys or /dev, one
 * below a file, one in a folder this process may not write, or (without `force`) a non-empty folder.
 */
export function checkOutDir(dir: string, force: boolean, flag = '--out'): void {
  if (dir.trim() === '') throw new BilevelError(`${flag} is empty`, `name the output folder, e.g. ${flag} runs/demo`);
  const abs = resolve(dir);
  const special = SPECIAL.find((s) => abs === s || abs.startsWith(s + sep));
  if (special) throw new BilevelError(`${flag} "${dir}" is under ${special}, a kernel file system that cannot hold results`, `choose a ${flag} folder on a disk, e.g. ${flag} runs/demo`);
  if (existsSync(abs) && !statSync(abs).isDirectory()) throw new BilevelError(`${flag} "${dir}" is a file, not a folder`, `choose another ${flag}, or remove the file`);
  if (!force && existsSync(abs) && readdirSync(abs).length > 0) throw new BilevelError(`output folder "${dir}" already exists and is not empty`, `choose another ${flag}, or pass --force to overwrite it`);
  probeWritable(nearestExisting(abs, flag), dir, flag);
}
