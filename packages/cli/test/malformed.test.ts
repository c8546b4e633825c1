// A catalogue of malformed inputs (issue 24): each exits non-zero within 10 s with a `bilevel: …` error that names
// what to fix (no stack trace), and writes no output (the --out folder is not created; a resumed folder is unchanged).
import { execFile } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { MAIN, ROOT, tempDir } from './cli.js';

interface Outcome { code: number | null; stdout: string; stderr: string; seconds: number }

/** At most this many commands at once (each loads TensorFlow.js: more only slows every one down). */
const AT_ONCE = 3;
let running = 0;
const waiting: (() => void)[] = [];
async function slot<T>(f: () => Promise<T>): Promise<T> {
  if (running >= AT_ONCE) await new Promise<void>((r) => waiting.push(r));
  running++;
  try {
    return await f();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

/** Runs the built `bilevel` command asynchronously (so several run at once without blocking the test worker). */
const bilevel = (args: string[]) => slot(() => spawnBilevel(args));
function spawnBilevel(args: string[], timeout = 20_000): Promise<Outcome> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, CI: '1', BILEVEL_REPORT_PNG: '0', BILEVEL_ENGINE: '' }, timeout, killSignal: 'SIGKILL' },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr, seconds: (Date.now() - t0) / 1000 }));
  });
}

const VALID = {
  name: 'malformed-base',
  data: { train: { source: 'synthetic', count: 2, size: [16, 16], seed: 1 }, noise: { type: 'gaussian', sigma: 0.1 } },
  regularizer: { name: 'tv', theta0: [-5, -5] },
  budget: { maxIterations: 2 },
};
type Json = Record<string, unknown>;
const clone = (): Json => structuredClone(VALID) as Json;
/** VALID with the value at a dotted path replaced (undefined: removed). */
function withField(path: string, value: unknown): Json {
  const c = clone();
  const keys = path.split('.');
  let o = c as Json;
  for (const k of keys.slice(0, -1)) o = (o[k] ??= {}) as Json;
  if (value === undefined) delete o[keys.at(-1)!];
  else o[keys.at(-1)!] = value;
  return c;
}

let root: string;
let finished: string;
/** A file in root with this text (or JSON). */
function file(name: string, content: unknown): string {
  const f = join(root, name);
  writeFileSync(f, typeof content === 'string' ? content : JSON.stringify(content));
  return f;
}
let n = 0;
const fresh = () => join(root, `out-${n++}`);

/** A copy of the finished run folder, changed by `edit`. */
function runCopy(edit: (dir: string) => void): string {
  const dir = join(root, `resume-${n++}`);
  cpSync(finished, dir, { recursive: true });
  edit(dir);
  return dir;
}
const jsonOf = (dir: string, f: string) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Json;
const put = (dir: string, f: string, v: unknown) => writeFileSync(join(dir, f), typeof v === 'string' ? v : JSON.stringify(v));

/** Every file under dir with its size and mtime (what "unchanged" compares). */
function snapshot(dir: string): string {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return existsSync(dir) ? `file ${statSync(dir).mtimeMs}` : 'missing';
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort().map((f) => {
    const s = statSync(join(dir, f));
    return `${f} ${s.size} ${s.mtimeMs}`;
  }).join('\n');
}

interface Case {
  name: string;
  /** argv; `out` is a fresh folder path that must not be created. */
  args: (out: string) => string[];
  /** What the error must say (the field, flag or file to fix). */
  says: RegExp;
  /** A folder (or file) that must be unchanged (default: `out` must not exist afterwards). */
  unchanged?: () => string;
}

const run = (config: () => unknown): Case['args'] => (out) => ['run', file(`c${n++}.json`, config()), '--out', out];
const cfg = (name: string, config: () => unknown, says: RegExp): Case => ({ name: `config: ${name}`, args: run(config), says });

const CONFIGS: Case[] = [
  cfg('not JSON', () => '{ "name": ', /line 1/),
  cfg('an empty file', () => '', /config|empty|JSON/i),
  cfg('a top-level array', () => '[]', /expected object/),
  cfg('a top-level string', () => '"tv"', /expected object/),
  cfg('null', () => 'null', /expected object/),
  cfg('trailing garbage', () => JSON.stringify(VALID) + ' }', /line 1, column/),
  cfg('name a number', () => withField('name', 5), /name/),
  cfg('seed a string', () => withField('seed', 'abc'), /seed/),
  cfg('seed a fraction', () => withField('seed', 1.5), /seed/),
  cfg('an unknown top-level field', () => withField('regulariser', { name: 'tv' }), /regulariser: unknown field/),
  cfg('data missing', () => withField('data', undefined), /data/),
  cfg('data a string', () => withField('data', 'images/'), /data/),
  cfg('data.train missing', () => withField('data.train', undefined), /data\.train/),
  cfg('data.train.source unknown', () => withField('data.train.source', 'nonsense'), /data\.train/),
  cfg('data.train.count 0', () => withField('data.train.count', 0), /data\.train\.count/),
  cfg('data.train.count a string', () => withField('data.train.count', 'many'), /data\.train\.count/),
  cfg('data.train.size too small', () => withField('data.train.size', [4, 4]), /data\.train\.size/),
  cfg('data.train.size one number', () => withField('data.train.size', [64]), /data\.train\.size/),
  cfg('data.train.size a string', () => withField('data.train.size', '64x64'), /data\.train\.size/),
  cfg('data.train.size negative', () => withField('data.train.size', [-64, 64]), /data\.train\.size/),
  cfg('data.train an unknown field', () => withField('data.train.colour', true), /data\.train\.colour/),
  cfg('data.train folder without path', () => withField('data.train', { source: 'folder' }), /data\.train\.path/),
  cfg('data.train folder missing', () => withField('data.train', { source: 'folder', path: join(root, 'nowhere') }), /data\.train/),
  cfg('data.train folder is a file', () => withField('data.train', { source: 'folder', path: file('plain.txt', 'x') }), /data\.train/),
  cfg('data.train folder is empty', () => withField('data.train', { source: 'folder', path: emptyDir() }), /data\.train/),
  cfg('data.train folder holds a corrupt PNG', () => withField('data.train', { source: 'folder', path: corruptPngDir() }), /data\.train/),
  cfg('data.test.count negative', () => withField('data.test', { source: 'synthetic', count: -1, size: [16, 16] }), /data\.test\.count/),
  cfg('data.noise missing', () => withField('data.noise', undefined), /data\.noise/),
  cfg('data.noise.sigma negative', () => withField('data.noise.sigma', -1), /data\.noise\.sigma/),
  cfg('data.noise.sigma a string', () => withField('data.noise.sigma', '0.1'), /data\.noise\.sigma/),
  cfg('data.noise.type unknown', () => withField('data.noise.type', 'laplace'), /data\.noise\.type/),
  cfg('poisson noise without photons', () => withField('data.noise', { type: 'poisson' }), /data\.noise\.photons/),
  cfg('phantoms of an unknown kind', () => withField('data.train', { source: 'phantoms', count: 2, size: [16, 16], kind: 'circles' }), /data\.train\.kind/),
  cfg('operator unknown', () => withField('operator', 'blurr'), /operator/),
  cfg('operator options an unknown field', () => withField('operator', { name: 'blur', options: { sigmaa: 2 } }), /operator/),
  cfg('operator options a wrong type', () => withField('operator', { name: 'blur', options: { sigma: 'wide' } }), /operator.*sigma|sigma/),
  cfg('operator options a string', () => withField('operator', { name: 'blur', options: 'sigma=2' }), /operator\.options/),
  cfg('operator options a bad choice', () => withField('operator', { name: 'blur', options: { kernel: 'box' } }), /kernel/),
  cfg('regularizer missing', () => withField('regularizer', undefined), /regularizer/),
  cfg('regularizer a bare name', () => withField('regularizer', 'tv'), /regularizer/),
  cfg('regularizer unknown', () => withField('regularizer', { name: 'tvv' }), /regularizer/),
  cfg('regularizer.theta0 of the wrong length', () => withField('regularizer.theta0', [1, 2, 3]), /theta0/),
  cfg('regularizer.theta0 strings', () => withField('regularizer.theta0', ['a']), /regularizer\.theta0/),
  cfg('regularizer.theta0 Infinity', () => JSON.stringify(VALID).replace('[-5,-5]', '[-5,1e999]'), /regularizer\.theta0/),
  cfg('regularizer options an unknown field', () => withField('regularizer', { name: 'foe', options: { filter: 4 } }), /regularizer/),
  cfg('regularizer options out of range', () => withField('regularizer', { name: 'foe', options: { filters: -3 } }), /filters/),
  cfg('lowerSolver unknown', () => withField('lowerSolver', 'fistaa'), /lowerSolver/),
  cfg('linearSolver unknown', () => withField('linearSolver', 'gmres2'), /linearSolver/),
  cfg('linearSolver a number', () => withField('linearSolver', 3), /linearSolver/),
  cfg('optimizer unknown', () => withField('optimizer', 'adamw'), /optimizer/),
  cfg('optimizer options a wrong type', () => withField('optimizer', { name: 'maid', options: { alpha0: 'big' } }), /optimizer/),
  cfg('optimizer with an unknown field', () => withField('optimizer', { name: 'maid', option: {} }), /optimizer\.option/),
  cfg('oracle unknown', () => withField('oracle', 'remote'), /oracle/),
  cfg('budget.maxIterations 0', () => withField('budget.maxIterations', 0), /budget\.maxIterations/),
  cfg('budget.maxIterations a fraction', () => withField('budget.maxIterations', 2.5), /budget\.maxIterations/),
  cfg('budget.maxSeconds negative', () => withField('budget.maxSeconds', -5), /budget\.maxSeconds/),
  cfg('budget an unknown field', () => withField('budget.maxIteration', 5), /budget\.maxIteration/),
  cfg('gamma negative', () => withField('gamma', -1), /gamma/),
  cfg('backend unknown', () => withField('backend', 'cuda'), /backend/),
  cfg('plugins a string', () => withField('plugins', 'bilevel-huber'), /plugins/),
  cfg('plugins a missing package', () => withField('plugins', ['bilevel-plugin-that-is-not-installed']), /bilevel-plugin-that-is-not-installed/),
  cfg('evaluationTolerance 0', () => withField('evaluationTolerance', 0), /evaluationTolerance/),
  cfg('data.train.size too large for memory', () => withField('data.train.size', [200000, 200000]), /data\.train\.size/),
  cfg('data.train.count too large for memory', () => withField('data.train', { source: 'synthetic', count: 10_000_000, size: [512, 512] }), /data\.train\.(count|size)/),
  cfg('data.test.size too large for memory', () => withField('data.test', { source: 'synthetic', count: 4, size: [100000, 100000] }), /data\.test\.size/),
  cfg('data.train.size beyond typed arrays', () => withField('data.train.size', [2 ** 31, 2 ** 31]), /data\.train\.size/),
];

function emptyDir(): string {
  const d = join(root, `empty-${n++}`);
  mkdirSync(d);
  return d;
}
function corruptPngDir(): string {
  const d = join(root, `corrupt-${n++}`);
  mkdirSync(d);
  writeFileSync(join(d, 'a.png'), Buffer.from('\x89PNG\r\n\x1a\nnot really a png'));
  return d;
}

const valid = () => file(`valid-${n++}.json`, VALID);
const flags = (name: string, extra: string[], says: RegExp): Case => ({ name: `flags: ${name}`, args: (out) => ['run', valid(), '--out', out, ...extra], says });

const FLAGS: Case[] = [
  flags('--seed a word', ['--seed', 'abc'], /--seed/),
  flags('--seed negative', ['--seed', '-1'], /--seed/),
  flags('--seed a fraction', ['--seed', '1.5'], /--seed/),
  flags('--checkpoint-every negative', ['--checkpoint-every', '-1'], /--checkpoint-every/),
  flags('--checkpoint-every a word', ['--checkpoint-every', 'often'], /--checkpoint-every/),
  flags('--test-every negative', ['--test-every', '-2'], /--test-every/),
  flags('--workers negative', ['--workers', '-1'], /--workers/),
  flags('--shards 0', ['--shards', '0'], /--shards/),
  flags('--backend unknown', ['--backend', 'cuda'], /--backend/),
  flags('--engine and --workers together', ['--engine', 'redis://127.0.0.1:1', '--workers', '2'], /--engine and --workers/),
  flags('--engine not a URL', ['--engine', 'not a url'], /engine/i),
  flags('a second config', ['other.json'], /argument|other\.json/),
  flags('an unknown flag', ['--verbose'], /--verbose/),
  { name: 'flags: --out without a value', args: () => ['run', valid(), '--out'], says: /--out/ },
  { name: 'flags: --out followed by a flag', args: () => ['run', valid(), '--out', '--force'], says: /--out/ },
  { name: 'flags: no --out', args: () => ['run', valid()], says: /--out/ },
  { name: 'flags: no config nor --default', args: (out) => ['run', '--out', out], says: /--default/ },
  { name: 'flags: a config that does not exist', args: (out) => ['run', join(root, 'missing.json'), '--out', out], says: /missing\.json/ },
  { name: 'flags: a config that is a folder', args: (out) => ['run', emptyDir(), '--out', out], says: /config|folder|directory/i },
  { name: 'validate: a config that does not exist', args: () => ['validate', join(root, 'missing.json')], says: /missing\.json/ },
  { name: 'validate: a bad field', args: () => ['validate', file(`v${n++}.json`, withField('seed', 'x'))], says: /seed/ },
  { name: 'validate: too large for memory', args: () => ['validate', file(`v${n++}.json`, withField('data.train.size', [200000, 200000]))], says: /data\.train\.size/ },
  { name: 'report: a folder that does not exist', args: () => ['report', join(root, 'no-run')], says: /no-run/ },
  { name: 'report: a folder without a run', args: () => ['report', emptyDir()], says: /summary\.json|iterations|run/ },
  { name: 'plugins: a missing plugin package', args: () => ['plugins', '--plugin', 'bilevel-plugin-that-is-not-installed'], says: /bilevel-plugin-that-is-not-installed/ },
  { name: 'data fetch: an unknown data set', args: () => ['data', 'fetch', 'imagenet-99'], says: /imagenet-99/ },
];

const outCase = (name: string, out: () => string, says: RegExp): Case => {
  let target = '';
  return { name: `--out: ${name}`, args: () => ['run', valid(), '--out', (target = out())], says, unchanged: () => target };
};
const OUTS: Case[] = [
  outCase('an existing file', () => file(`f${n++}.txt`, 'keep me'), /--out|not a folder|file/),
  outCase('an empty string', () => '', /--out/),
  outCase('under a file', () => join(file(`p${n++}.txt`, 'x'), 'sub'), /--out|not a folder|file/),
  outCase('/proc', () => `/proc/bilevel-test-${process.pid}`, /\/proc/),
  outCase('/sys', () => `/sys/bilevel-test-${process.pid}`, /\/sys/),
  outCase('/dev', () => `/dev/bilevel-test-${process.pid}`, /\/dev/),
  outCase('/dev/null', () => '/dev/null', /\/dev/),
  outCase('a non-empty folder without --force', () => { const d = emptyDir(); writeFileSync(join(d, 'mine.txt'), 'x'); return d; }, /--force/),
];

const resumeCase = (name: string, edit: (dir: string) => void, says: RegExp): Case => {
  let dir = '';
  return { name: `resume: ${name}`, args: () => ['resume', (dir = runCopy(edit))], says, unchanged: () => dir };
};
/** The finished run as if it had been stopped (no summary.json): the checks below are then the ones that refuse it. */
const stopped = (dir: string) => rmSync(join(dir, 'summary.json'), { force: true });
const RESUMES: Case[] = [
  { name: 'resume: a folder that does not exist', args: () => ['resume', join(root, 'no-such-run')], says: /no-such-run/ },
  { name: 'resume: a folder without run.json', args: () => ['resume', emptyDir()], says: /run\.json/ },
  { name: 'resume: a file', args: () => ['resume', file(`r${n++}.txt`, 'x')], says: /run\.json|folder/ },
  resumeCase('a finished run', () => {}, /finished|summary\.json/),
  resumeCase('run.json truncated', (d) => { stopped(d); put(d, 'run.json', readFileSync(join(d, 'run.json'), 'utf8').slice(0, 40)); }, /run\.json/),
  resumeCase('run.json an array', (d) => { stopped(d); put(d, 'run.json', '[]'); }, /run\.json/),
  resumeCase('run.json without config', (d) => { stopped(d); const r = jsonOf(d, 'run.json'); delete r.config; put(d, 'run.json', r); }, /run\.json.*config|config/),
  resumeCase('run.json with a bad config field', (d) => { stopped(d); const r = jsonOf(d, 'run.json'); (r.config as Json).seed = 'x'; put(d, 'run.json', r); }, /seed/),
  resumeCase('run.json checkpointEvery a string', (d) => { stopped(d); const r = jsonOf(d, 'run.json'); r.checkpointEvery = 'x'; put(d, 'run.json', r); }, /checkpointEvery/),
  resumeCase('run.json baseDir a number', (d) => { stopped(d); const r = jsonOf(d, 'run.json'); r.baseDir = 3; put(d, 'run.json', r); }, /baseDir/),
  resumeCase('run.json edited to another regularizer', (d) => {
    stopped(d);
    const r = jsonOf(d, 'run.json');
    (r.config as Json).regularizer = { name: 'foe', options: { filters: 2, size: 3 } };
    put(d, 'run.json', r);
  }, /checkpoint|θ|theta/),
  resumeCase('checkpoint lacks fields', (d) => { stopped(d); put(d, 'checkpoint.json', '{"version":2,"iterations":1}'); rmPrev(d); }, /checkpoint/),
  resumeCase('checkpoint truncated and no previous one', (d) => { stopped(d); put(d, 'checkpoint.json', readFileSync(join(d, 'checkpoint.json'), 'utf8').slice(0, 30)); rmPrev(d); }, /checkpoint/),
  resumeCase('checkpoint past the log', (d) => { stopped(d); put(d, 'iterations.jsonl', ''); }, /iterations\.jsonl|checkpoint/),
  resumeCase('iterations.jsonl garbled', (d) => { stopped(d); put(d, 'iterations.jsonl', '{"iteration": 1,\nnot json\n'); }, /iterations\.jsonl/),
];
const rmPrev = (d: string) => rmSync(join(d, 'checkpoint.prev.json'), { force: true });

const sweep = (name: string, content: () => unknown, says: RegExp): Case => ({ name: `sweep: ${name}`, args: (out) => ['sweep', file(`s${n++}.json`, content()), '--out', out], says });
const SWEEP = { name: 's', base: VALID, overrides: [{ label: 'a', set: {} }], seeds: [0] };
const SWEEPS: Case[] = [
  sweep('not JSON', () => '{"name":', /line 1|JSON/),
  sweep('without base', () => ({ ...SWEEP, base: undefined }), /base/),
  sweep('overrides not an array', () => ({ ...SWEEP, overrides: 'all' }), /overrides/),
  sweep('seeds strings', () => ({ ...SWEEP, seeds: ['one'] }), /seeds/),
  sweep('an override setting a bad field', () => ({ ...SWEEP, overrides: [{ label: 'bad', set: { budget: { maxIterations: -1 } } }] }), /budget\.maxIterations/),
  sweep('a base with an unknown field', () => ({ ...SWEEP, base: { ...VALID, extra: 1 } }), /extra/),
  sweep('two overrides with one label', () => ({ ...SWEEP, overrides: [{ label: 'a', set: {} }, { label: 'a', set: {} }] }), /label|"a"/),
  { name: 'sweep: a file that does not exist', args: (out) => ['sweep', join(root, 'missing-sweep.json'), '--out', out], says: /missing-sweep\.json/ },
  { name: 'sweep: --out an existing file', args: () => ['sweep', file(`s${n++}.json`, SWEEP), '--out', file(`sf${n++}.txt`, 'x')], says: /--out|not a folder|file/ },
];

const CATALOGUE = [...CONFIGS, ...FLAGS, ...OUTS, ...RESUMES, ...SWEEPS];

const results = new Map<string, { args: string[]; out: string; before?: string; r: Outcome }>();

beforeAll(async () => {
  root = tempDir();
  finished = join(root, 'finished');
  const r = await spawnBilevel(['run', file('base.json', { ...VALID, budget: { maxIterations: 2, maxSeconds: 20 } }), '--out', finished, '--checkpoint-every', '1', '--quiet'], 170_000);
  if (r.code !== 0) throw new Error(`the base run failed: ${r.stderr}`);
  // Every case at once, AT_ONCE processes at a time; the tests below check the outcomes.
  const t0 = Date.now();
  await Promise.all(CATALOGUE.map(async (c) => {
    const out = fresh();
    const args = c.args(out);
    const before = c.unchanged ? snapshot(c.unchanged()) : undefined;
    results.set(c.name, { args, out, before, r: await bilevel(args) });
  }));
  if (process.env.MALFORMED_DUMP) appendFileSync(process.env.MALFORMED_DUMP, `# ${CATALOGUE.length} cases in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
}, 600_000);

it(`the catalogue has at least 80 inputs (${CATALOGUE.length})`, () => {
  expect(CATALOGUE.length).toBeGreaterThanOrEqual(80);
});

/** Exits non-zero within 10 s naming what to fix, without a stack trace, and writes nothing. */
describe('malformed inputs', () => {
  for (const c of CATALOGUE) {
    it(c.name, () => {
      const { args, out, before, r } = results.get(c.name)!;
      const shown = `${args.join(' ')}\n${r.stderr}`;
      if (process.env.MALFORMED_DUMP) appendFileSync(process.env.MALFORMED_DUMP, `## ${c.name} [${r.code}, ${r.seconds.toFixed(1)} s, out ${existsSync(out)}]\n${shown.slice(0, 600)}\n`);
      expect(r.code, shown).not.toBe(0);
      expect(r.code, shown).not.toBe(null);
      expect(r.stderr, shown).toMatch(/^bilevel/);
      expect(r.stderr, shown).toMatch(c.says);
      expect(r.stderr, shown).not.toMatch(/^ {4}at /m);
      expect(r.seconds, shown).toBeLessThan(10);
      if (c.unchanged) expect(snapshot(c.unchanged()), `${shown}: the folder changed`).toBe(before);
      else expect(existsSync(out), `${shown}: created --out`).toBe(false);
    });
  }
});
