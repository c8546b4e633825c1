// SIGKILL at the worst moments: inside a checkpoint write, inside `bilevel resume`, and while a second process tries
// the same run folder. After each, `bilevel resume` must end with exactly the θ of an uninterrupted run, the same log
// rows, and time columns that never go back.
//
// Where a kill must land inside a write, the child runs with a preload hook (HOOK below, `node --require`): it wraps
// fs.writeFileSync / renameSync / appendFileSync and, at the nth call on a matching path, writes part of the data (a
// torn write) or skips the rename, then SIGKILLs its own process. The kill is a real SIGKILL at that point of the
// write, deterministically (a kill from outside lands inside a 12 kB write almost never); no src code knows of it.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, watch, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { tinyConfig } from '../../experiment/test/optimizer-configs.js';
import { bilevel, checkpointAt, MAIN, ROOT, rows, tempDir, theta, writeJson } from './cli.js';

/** The preload hook; BILEVEL_KILL_HOOK holds its Hook as JSON. */
const HOOK = String.raw`
const fs = require('node:fs');
const { syncBuiltinESMExports } = require('node:module');
const spec = JSON.parse(process.env.BILEVEL_KILL_HOOK);
const target = new RegExp(spec.file);
const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
const orig = {};
const die = (what) => {
  if (spec.log) orig.appendFileSync(spec.log, JSON.stringify({ pid: process.pid, ...what }) + '\n');
  process.kill(process.pid, 'SIGKILL');
  sleep(undefined);
};
let seen = 0, inside = false;
function act(op, self, p, args) {
  const call = () => orig[op].call(self, p, ...args);
  if (typeof p !== 'string' || op !== spec.op || !target.test(p) || ++seen !== spec.nth) return call();
  if (spec.pauseUntil) { while (!fs.existsSync(spec.pauseUntil)) sleep(20); return call(); }
  if (spec.delayMs) { sleep(spec.delayMs); return call(); }
  if (spec.after) { call(); die({ op, file: p, at: 'after' }); }
  if (op === 'renameSync') die({ op, file: p, at: 'before rename' });
  const whole = Buffer.from(args[0]);
  const part = whole.subarray(0, Math.floor(whole.length * (spec.keep ?? 0.5)));
  orig[op].call(self, p, part);
  die({ op, file: p, wrote: part.length, of: whole.length });
}
for (const op of ['writeFileSync', 'renameSync', 'appendFileSync']) {
  orig[op] = fs[op];
  // appendFileSync calls fs.writeFileSync inside: only the outer call counts.
  fs[op] = function (p, ...args) {
    if (inside) return orig[op].call(this, p, ...args);
    inside = true;
    try { return act(op, this, p, args); } finally { inside = false; }
  };
}
syncBuiltinESMExports();
`;

/**
 * At the nth `op` on a path matching `file`: write the fraction `keep` of the data (default ½) and SIGKILL; or, for
 * renameSync, SIGKILL before renaming; or do the call and then SIGKILL (`after`); or only wait (`delayMs`, or until the
 * file `pauseUntil` exists) and go on.
 */
interface Hook {
  op: 'writeFileSync' | 'renameSync' | 'appendFileSync';
  file: string;
  nth: number;
  keep?: number;
  after?: boolean;
  delayMs?: number;
  pauseUntil?: string;
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** One kill the hook made (appended by the child to the kill log just before its SIGKILL). */
interface HookKill {
  pid: number;
  op: string;
  file: string;
  at?: string;
  wrote?: number;
  of?: number;
}

/** The columns of iterations.jsonl these tests check. */
interface Row {
  iter: number;
  seconds: number;
  segment: number;
  segmentStart?: number;
}

const KILL_LOG = 'kills.jsonl';
let hookFile = '';
let config = '';
let straight = '';
let total = 0;

/** Starts `bilevel args` (with the hook when given), capturing its output; `exit` resolves when it ends. */
function launch(args: string[], hook?: Hook, logDir?: string) {
  const env: Record<string, string> = { ...process.env, CI: '1', BILEVEL_REPORT_PNG: '0' } as Record<string, string>;
  if (hook) env.BILEVEL_KILL_HOOK = JSON.stringify({ ...hook, log: logDir && join(logDir, KILL_LOG) });
  const child = spawn(process.execPath, [...(hook ? ['--require', hookFile] : []), MAIN, ...args], { cwd: ROOT, env });
  let stdout = '', stderr = '';
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exit = new Promise<Exit>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, pid: child.pid!, exit, stderr: () => stderr };
}

/** Polls `cond` every 5 ms until it holds or `ms` pass; says whether it held. */
async function until(cond: () => boolean, ms = 60_000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 5))) if (cond()) return true;
  return cond();
}

const ownerPid = (dir: string): number | undefined => {
  try {
    return (JSON.parse(readFileSync(`${dir}.lock/owner.json`, 'utf8')) as { pid: number }).pid;
  } catch {
    return undefined;
  }
};
const hookKills = (dir: string): HookKill[] =>
  existsSync(join(dir, KILL_LOG)) ? readFileSync(join(dir, KILL_LOG), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as HookKill) : [];
/** Temp files of an atomic write (files.ts: `<file>.tmp-<pid>`) that process `pid` left in `dir`. */
function leftovers(dir: string, pid: number): string[] {
  try {
    return readdirSync(dir).filter((f) => f.endsWith(`.tmp-${pid}`));
  } catch {
    return []; // not made yet
  }
}
/** The iteration a resume said it continued from ("resuming <dir> from iteration N"), or the fallback's. */
const resumedFrom = (e: Exit): number | undefined => {
  const m = /resuming .* from iteration (\d+)/.exec(e.stdout) ?? /continuing from the one before it \(iteration (\d+)\)/.exec(e.stderr);
  return m ? Number(m[1]) : undefined;
};

/** A resume that ended (0 = done): its output says it continued from `from`, or from the checkpoint it fell back to. */
function expectResumedFrom(e: Exit, from: number): void {
  const fellBack = /continuing from the one before it \(iteration (\d+)\)/.exec(e.stderr);
  expect(resumedFrom(e), `${e.stdout}\n${e.stderr}`).toBe(fellBack ? Number(fellBack[1]) : from);
}

/** The finished folder agrees with the uninterrupted run: θ exactly, the rows 1…N once each, and time never going back. */
function expectLikeStraight(dir: string): Row[] {
  expect(theta(dir)).toEqual(theta(straight));
  expect(rows(dir)).toBe(total);
  const log = readFileSync(join(dir, 'iterations.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Row);
  expect(log.map((r) => r.iter)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
  expect(log.every((r, i) => i === 0 || r.seconds >= log[i - 1].seconds), 'seconds never decrease').toBe(true);
  expect(log.every((r, i) => i === 0 || r.segment >= log[i - 1].segment), 'segment never decreases').toBe(true);
  const starts = log.filter((r) => r.segmentStart !== undefined);
  expect(starts.length, 'one segmentStart per segment').toBe(new Set(log.map((r) => r.segment)).size);
  expect(starts.every((r, i) => i === 0 || r.segmentStart! > starts[i - 1].segmentStart!), 'segments start later and later').toBe(true);
  return log;
}

const resumeArgs = (dir: string) => ['resume', dir];

/** A run into `dir` SIGKILLed inside the write of its checkpoint `at` + 1 (before the rename): it stops at checkpoint `at`. */
async function killedRun(dir: string, at: number): Promise<number> {
  const e = await launch(['run', config, '--out', dir, '--quiet', '--checkpoint-every', '1'], { op: 'renameSync', file: 'checkpoint\\.json\\.tmp-', nth: at + 1 }, dir).exit;
  expect(e.signal, e.stderr).toBe('SIGKILL');
  expect(checkpointAt(dir)).toBe(at);
  return at;
}

beforeAll(() => {
  const base = tempDir();
  hookFile = join(base, 'kill-hook.cjs');
  writeFileSync(hookFile, HOOK);
  config = writeJson(base, 'maid.json', tinyConfig('maid', 30));
  straight = join(base, 'straight');
  const s = bilevel(['run', config, '--out', straight, '--quiet', '--checkpoint-every', '1']);
  expect(s.code, s.stderr).toBe(0);
  total = rows(straight);
  expect(total).toBe(30);
}, 300_000);

describe('SIGKILL at the worst moments, then resume: the uninterrupted θ', () => {
  it('killed inside checkpoint writes (torn temp file, temp file not yet renamed, for checkpoint.json and checkpoint.prev.json)', async () => {
    const dir = join(tempDir(), 'run');
    // Each kill lands inside one of the two atomic writes of saveCheckpoint (prev first, then the checkpoint).
    const kills: Hook[] = [
      { op: 'writeFileSync', file: 'checkpoint\\.prev\\.json\\.tmp-', nth: 3, keep: 0.5 },
      { op: 'renameSync', file: 'checkpoint\\.prev\\.json\\.tmp-', nth: 2 },
      { op: 'writeFileSync', file: 'checkpoint\\.json\\.tmp-', nth: 3, keep: 0.3 },
      { op: 'renameSync', file: 'checkpoint\\.json\\.tmp-', nth: 4 },
    ];
    const at: number[] = [];
    let midWrite = 0;
    for (const [k, hook] of kills.entries()) {
      const before = checkpointAt(dir);
      const p = launch(k === 0 ? ['run', config, '--out', dir, '--checkpoint-every', '1'] : resumeArgs(dir), hook, dir);
      const e = await p.exit;
      expect(e.signal, e.stderr).toBe('SIGKILL');
      if (k > 0) expectResumedFrom(e, before);
      const kill = hookKills(dir).find((x) => x.pid === p.pid);
      expect(kill, 'the hook made this kill').toBeDefined();
      // Landed inside the write: the temp file of the atomic write is still there, and the checkpoint is the one before.
      const left = leftovers(dir, p.pid);
      if (left.length > 0) midWrite++;
      expect(left.map((f) => join(dir, f))).toEqual([kill!.file]);
      at.push(checkpointAt(dir));
      expect(at.at(-1)).toBeGreaterThan(before);
      expect(at.at(-1)).toBeLessThan(total);
    }
    // And from outside: SIGKILL at the 3rd file event that finds a temp file of the resume (inside its 1st or 2nd
    // checkpoint write); whether the kill lands before the rename is up to the scheduler.
    let outside = 0;
    for (let k = 0; k < 2; k++) {
      const before = checkpointAt(dir);
      const p = launch(resumeArgs(dir));
      let seen = 0;
      const w = watch(dir, (_event, name) => {
        if (name?.endsWith(`.tmp-${p.pid}`) && existsSync(join(dir, name)) && ++seen === 3) p.child.kill('SIGKILL');
      });
      const e = await p.exit;
      w.close();
      expect(e.signal, e.stderr).toBe('SIGKILL');
      expectResumedFrom(e, before);
      if (leftovers(dir, p.pid).length > 0) outside++;
      at.push(checkpointAt(dir));
    }
    console.log(`checkpoint writes: ${midWrite} of ${kills.length} hook kills and ${outside} of 2 kills from outside landed mid-write; checkpoint after each kill: ${at.join(', ')} of ${total}`);
    expect(midWrite).toBe(kills.length);
    const before = checkpointAt(dir);
    const last = await launch(resumeArgs(dir)).exit;
    expect(last.code, last.stderr).toBe(0);
    expectResumedFrom(last, before);
    expect(last.stderr, 'a SIGKILL never tears checkpoint.json itself').not.toMatch(/continuing from the one before it/);
    const log = expectLikeStraight(dir);
    expect(log.at(-1)!.segment).toBeGreaterThan(kills.length);
  }, 300_000);

  it('killed inside `bilevel resume` before its first new checkpoint, again and again', async () => {
    const dir = join(tempDir(), 'run');
    const from = await killedRun(dir, 5);
    const outcomes: string[] = [];
    // Each resume is killed before it writes a checkpoint, so each next one starts from the same checkpoint again.
    type Launched = ReturnType<typeof launch>;
    const attempts: { what: string; hook?: Hook; kill?: (p: Launched) => void }[] = [
      { what: 'at 300 ms (starting up)', kill: (p) => setTimeout(() => p.child.kill('SIGKILL'), 300) },
      { what: 'from outside once it holds the lock', kill: (p) => void until(() => ownerPid(dir) === p.pid || p.child.exitCode !== null).then(() => p.child.kill('SIGKILL')) },
      { what: 'right after it cut the log back to the checkpoint', hook: { op: 'renameSync', file: 'iterations\\.jsonl\\.tmp-', nth: 1, after: true } },
      { what: 'inside its first checkpoint write', hook: { op: 'writeFileSync', file: 'checkpoint\\.json\\.tmp-', nth: 1, keep: 0.5 } },
      { what: 'right after it appended its first row', hook: { op: 'appendFileSync', file: 'iterations\\.jsonl$', nth: 1, after: true } },
    ];
    for (const a of attempts) {
      const p = launch(resumeArgs(dir), a.hook, dir);
      a.kill?.(p);
      const e = await p.exit;
      expect(e.signal, `${a.what}: ${e.stderr}`).toBe('SIGKILL');
      const now = checkpointAt(dir);
      outcomes.push(`${a.what}: ${resumedFrom(e) === undefined ? 'before it said where it resumes' : `resumed from ${resumedFrom(e)}`}, checkpoint then ${now}`);
      if (resumedFrom(e) !== undefined) expectResumedFrom(e, from);
      expect(now, a.what).toBe(from);
    }
    console.log(`kills during resume:\n  ${outcomes.join('\n  ')}`);
    expect(rows(dir), 'the row past the checkpoint is still in the log').toBe(from + 1);
    const last = await launch(resumeArgs(dir)).exit;
    expect(last.code, last.stderr).toBe(0);
    expectResumedFrom(last, from);
    expectLikeStraight(dir);
  }, 300_000);

  it('a second process is refused naming the live run\'s pid; the live run SIGKILLed mid-run resumes to the uninterrupted θ', async () => {
    const base = tempDir();
    const dir = join(base, 'run');
    const go = join(base, 'go');
    // The live run holds still inside its 3rd checkpoint write until `go` exists, so it is surely alive meanwhile.
    const live = launch(['run', config, '--out', dir, '--quiet', '--checkpoint-every', '1'], { op: 'renameSync', file: 'checkpoint\\.json\\.tmp-', nth: 3, pauseUntil: go });
    onTestFinished(() => void live.child.kill('SIGKILL')); // a failed assertion must not leave it paused forever
    // Held: its checkpoint.json temp file stays (checkpoint.prev.json's come and go at every checkpoint).
    const held = () => leftovers(dir, live.pid).includes(`checkpoint.json.tmp-${live.pid}`) && ownerPid(dir) === live.pid;
    expect(await until(held), 'the live run reached its 3rd checkpoint').toBe(true);
    const rowsThen = rows(dir);
    const named = new RegExp(`run is being written by process ${live.pid} on .* two processes may not write one run folder`, 's');
    const forced = bilevel(['run', config, '--out', dir, '--force', '--quiet']);
    expect(forced.code, forced.stderr).toBe(1);
    expect(forced.stderr).toMatch(named);
    const resumed = bilevel(['resume', dir, '--quiet']);
    expect(resumed.code, resumed.stderr).toBe(1);
    expect(resumed.stderr).toMatch(named);
    expect(live.child.exitCode, 'the live run is still running').toBeNull();
    expect(checkpointAt(dir), 'the refused --force emptied nothing').toBe(2);
    expect(rows(dir)).toBe(rowsThen);

    writeFileSync(go, '');
    expect(await until(() => checkpointAt(dir) >= 8 || live.child.exitCode !== null)).toBe(true);
    live.child.kill('SIGKILL');
    const e = await live.exit;
    const at = checkpointAt(dir);
    console.log(`second process: refused twice naming pid ${live.pid}; live run ${e.signal ?? `exited ${e.code}`} at checkpoint ${at} of ${total}`);
    expect(e.signal).toBe('SIGKILL');
    expect(at).toBeLessThan(total);
    const taken = await launch(resumeArgs(dir)).exit;
    expect(taken.code, taken.stderr).toBe(0);
    expect(taken.stderr).toMatch(new RegExp(`took over the lock of .*run: process ${live.pid}, which held it since .*, is gone`));
    expectResumedFrom(taken, at);
    expectLikeStraight(dir);
    expect(existsSync(`${dir}.lock`), 'the lock is released').toBe(false);
  }, 300_000);
});

/** A run killed at checkpoint 5, a resume SIGKILLed by `hook`, then (after `settleMs`) a resume that must finish it. */
async function resumeAfterKill(hook: Hook, settleMs = 0): Promise<void> {
  const dir = join(tempDir(), 'run');
  const from = await killedRun(dir, 5);
  const killed = await launch(resumeArgs(dir), hook, dir).exit;
  expect(killed.signal).toBe('SIGKILL');
  if (settleMs) await new Promise((r) => setTimeout(r, settleMs));
  const last = await launch(resumeArgs(dir)).exit;
  expect(last.code, last.stderr).toBe(0);
  expectResumedFrom(last, from);
  expectLikeStraight(dir);
}

// Kills that earlier versions did not survive (found by these tests; each gap is fixed in src, named in the comment).
describe('SIGKILLs inside the log, the log cut-back and the lock: resume still works, one process per folder', () => {
  it('a row torn at the end of the log, past the checkpoint (a crash inside an append), does not block resume', async () => {
    // resume-checks.ts logRows parses only the rows the checkpoint keeps (truncateLog drops the rest).
    await resumeAfterKill({ op: 'appendFileSync', file: 'iterations\\.jsonl$', nth: 1, keep: 0.5 });
  }, 300_000);

  it('a resume killed while it cuts the log back to its checkpoint can be resumed', async () => {
    // checkpoint.ts truncateLog writes the cut log atomically (a temp file, then a rename): killed mid-write, the old log stays.
    await resumeAfterKill({ op: 'writeFileSync', file: 'iterations\\.jsonl\\.tmp-', nth: 1, keep: 0 });
  }, 300_000);

  it('a resume killed while it writes the lock owner leaves a folder the next resume takes over', async () => {
    // lock.ts: the owner file lives inside the lock folder, written atomically; a lock without an owner older than 2 s
    // was left by a process killed while taking it, and is taken over.
    await resumeAfterKill({ op: 'writeFileSync', file: 'owner\\.json\\.tmp-', nth: 1, keep: 0 }, 2500);
  }, 300_000);

  it('of two resumes started together after a SIGKILL, only one writes the folder', async () => {
    // lock.ts: the dead owner is read from inside the lock folder, so a lock just taken over (owner not yet written,
    // younger than 2 s) is not mistaken for the dead one. The hook holds the first resume in that window for 1 s.
    const dir = join(tempDir(), 'run');
    const dead = await killedRun(dir, 5);
    const a = launch(resumeArgs(dir), { op: 'writeFileSync', file: 'owner\\.json\\.tmp-', nth: 1, delayMs: 1000 });
    // a said it took the lock over, and holds it now without having written its owner yet.
    expect(await until(() => /took over the lock/.test(a.stderr()) && existsSync(`${dir}.lock`))).toBe(true);
    await new Promise((r) => setTimeout(r, 200));
    expect(ownerPid(dir), 'the owner file still names the dead run').not.toBe(a.pid);
    const b = launch(resumeArgs(dir));
    const [ea, eb] = await Promise.all([a.exit, b.exit]);
    console.log(`two resumes from checkpoint ${dead}: exit ${ea.code} and ${eb.code}; log rows ${rows(dir)} of ${total}`);
    expect([ea.code, eb.code].sort()).toEqual([0, 1]);
    expectLikeStraight(dir);
  }, 300_000);
});
