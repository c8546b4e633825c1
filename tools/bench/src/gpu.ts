// The GPU benchmark in one command (issue 21): FoE ∇ₓh and HVP at 20×256×256, TV Kodak96 MAID to 27.6 dB, and as much
// of the paper-scale FoE run (examples/foe-denoising-kodak256.json) as fits in the time budget; JSON to $OUT.
//
//   node tools/bench/dist/gpu.js [--budget 420] [--out DIR|FILE.json] [--backend webgpu] [--runs 20] [--test-every 10]
//                                [--data DIR] [--examples DIR] [--only foeKernels,tvKodak96,paperFoe] [--smoke]
// On the GPU machine: tools/bench/gpu-pack.sh (bundle + Dawn + data), then `cd .gpu && ./run.sh`.
// Every section is guarded: a failing one records its error and the others still run; the JSON is rewritten after
// each section and after every outer iteration of the FoE run, so a run killed at its time limit leaves its figures.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fusedKernels, LowerLevelProblem, readCount, readScalars, tf, useBackend, type ImageBatch, type IterationRecord } from '@bilevel/core';
import { buildExperiment, runExperiment, type ExperimentResult, type RunHooks } from '@bilevel/experiment';
import { IdentityOperator, L2Fidelity } from '@bilevel/operators';
import { FieldsOfExperts } from '@bilevel/regularizers-foe';
import { machine } from './harness.js';

interface Args {
  out: string;
  /** Seconds the whole command may take (startup excluded): the FoE run gets what the first sections leave. */
  budget: number;
  backend: string;
  runs: number;
  testEvery: number;
  smoke: boolean;
  data?: string;
  examples?: string;
  /** Sections to run (default all). */
  only?: string[];
}

type Json = Record<string, unknown>;
type Report = Json & { sections: Record<string, Json>; only?: string[] };

const t0 = performance.now();
const elapsed = () => (performance.now() - t0) / 1000;
/** The folder of this program (the bundle's folder on the GPU machine). */
const HERE = dirname(resolve(process.argv[1] ?? '.'));

function parseArgs(argv: string[]): Args {
  const get = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const smoke = argv.includes('--smoke');
  const outArg = get('out') ?? (process.env.OUT ? process.env.OUT : '.');
  const num = (name: string, fallback: number) => {
    const v = get(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} ${v}: expected a positive number`);
    return n;
  };
  return {
    out: outArg.endsWith('.json') ? outArg : join(outArg, 'gpu-bench.json'),
    budget: num('budget', smoke ? 120 : 420),
    backend: get('backend') ?? 'webgpu',
    runs: num('runs', smoke ? 3 : 20),
    testEvery: num('test-every', smoke ? 1 : 10),
    smoke,
    data: get('data'),
    examples: get('examples'),
    only: get('only')?.split(','),
  };
}

/**
 * Activates the backend. For webgpu the Dawn globals are installed and tfjs-backend-webgpu is imported by literal name
 * (so that esbuild bundles it; only `webgpu`, with its dawn.node, stays outside the bundle), then core's useBackend.
 */
async function startBackend(name: string): Promise<Json> {
  if (name === 'webgpu') {
    if (!process.env.XDG_RUNTIME_DIR) process.env.XDG_RUNTIME_DIR = mkdtempSync(join(tmpdir(), 'xdg-'));
    const dawn = (await import('webgpu' as string)) as { create: (o: string[]) => unknown; globals?: object };
    const g = globalThis as Record<string, unknown>;
    Object.assign(g, dawn.globals ?? {});
    if (!g.navigator || !(g.navigator as { gpu?: unknown }).gpu) g.navigator = { gpu: dawn.create([]) };
    await import('@tensorflow/tfjs-backend-webgpu' as string);
    if (!(await tf.setBackend('webgpu'))) throw new Error('tf.setBackend("webgpu") failed: no WebGPU adapter (check the Vulkan driver: VK_DRIVER_FILES / VK_ICD_FILENAMES)');
    await tf.ready();
  }
  const backend = await useBackend(name);
  const info = (tf.backend() as unknown as { adapterInfo?: Record<string, unknown> }).adapterInfo;
  return { backend, adapter: info ? { vendor: info.vendor, architecture: info.architecture } : undefined, fusedKernels: fusedKernels.enabled };
}

/** The first of `dirs` that has `sub` in it. */
function findDir(what: string, sub: string, dirs: (string | undefined)[]): string {
  const found = dirs.filter((d): d is string => d !== undefined).find((d) => existsSync(join(d, sub)));
  if (!found) throw new Error(`${what}: ${sub} not found in ${dirs.filter(Boolean).join(', ')} → pass --${what} DIR (tools/bench/gpu-pack.sh copies it next to the bundle)`);
  return join(found, sub);
}

function examplesDir(a: Args, file: string): string {
  return findDir('examples', file, [a.examples, join(HERE, 'examples'), join(process.cwd(), 'examples'), resolve(HERE, '../../../examples')]);
}

function dataDir(a: Args, sub: string): string {
  return findDir('data', sub, [a.data, process.env.BILEVEL_DATA_MIRROR, join(HERE, 'data'), join(process.cwd(), 'data'), resolve(process.cwd(), '../shared/data'), resolve(HERE, '../../../../shared/data')]);
}

/** Milliseconds of one call of `fn` fenced by a one-number read of its result (median of `runs`), and pipelined. */
async function timeOp(fn: () => tf.Tensor, runs: number, warmup: number): Promise<Json> {
  const fence = (t: tf.Tensor) => readScalars(tf.tidy(() => tf.slice(tf.reshape(t, [-1]), 0, 1)));
  const once = async () => {
    const s = performance.now();
    const out = fn();
    await fence(out);
    out.dispose();
    return performance.now() - s;
  };
  for (let k = 0; k < warmup; k++) await once();
  const times: number[] = [];
  for (let k = 0; k < runs; k++) times.push(await once());
  times.sort((x, y) => x - y);
  // Back to back, one fence at the end: the device time per call without a round-trip each.
  const s = performance.now();
  let last: tf.Tensor | undefined;
  for (let k = 0; k < runs; k++) {
    last?.dispose();
    last = fn();
  }
  await fence(last!);
  last!.dispose();
  const pipelinedMs = (performance.now() - s) / runs;
  return { medianMs: +times[Math.floor(runs / 2)].toFixed(3), minMs: +times[0].toFixed(3), maxMs: +times[runs - 1].toFixed(3), runs, warmup, pipelinedMs: +pipelinedMs.toFixed(3) };
}

/** FoE denoising ∇ₓh and ∇²ₓₓh·v (identity, ½‖x − y‖², 48 filters 7×7 at the reference θ₀) on random 20×256×256. */
async function benchFoeKernels(a: Args): Promise<Json> {
  const [n, size, filters] = a.smoke ? [2, 32, 4] : [20, 256, 48];
  const reg = new FieldsOfExperts({ filters, size: 7 });
  const theta = tf.tensor1d(reg.initialTheta(0));
  const shape: [number, number, number, number] = [n, size, size, 1];
  const x = tf.randomUniform(shape, 0, 1, 'float32', 1) as ImageBatch;
  const y = tf.randomUniform(shape, 0, 1, 'float32', 2) as ImageBatch;
  const v = tf.randomNormal(shape, 0, 1, 'float32', 3) as ImageBatch;
  const problem = new LowerLevelProblem(new IdentityOperator([size, size]), new L2Fidelity(), reg, y, 0);
  try {
    const warmup = 3;
    const gradX = await timeOp(() => problem.gradX(x, theta), a.runs, warmup);
    const hvpX = await timeOp(() => problem.hvpX(x, theta, v), a.runs, warmup);
    return { shape, filters, filterSize: 7, engine: reg.options.engine, gradX, hvpX, goalGradXMs: 4 };
  } finally {
    tf.dispose([theta, x, y, v]);
  }
}

/** A config file of examples/, with its train (and test) split read from the folder `data` instead of its named data set. */
function exampleConfig(a: Args, file: string, data: string): Json & { data: { train: Json; test?: Json }; budget: Json } {
  const config = JSON.parse(readFileSync(examplesDir(a, file), 'utf8'));
  config.data.train = { ...config.data.train, source: 'folder', path: data };
  if (config.data.test) config.data.test = { ...config.data.test, source: 'folder', path: data };
  return config;
}

/** The work counters and figures of a finished run. */
function runFigures(r: ExperimentResult): Json {
  return {
    outerIterations: r.iterations, stopReason: r.stopReason, stopMessage: r.message, lowerIterations: r.lowerIterations, cgIterations: r.cgIterations,
    hostReads: r.hostReads, probeWork: r.probeWork, wallSeconds: +r.wallSeconds.toFixed(2),
    trainPsnr: +r.train.psnr.learned.toFixed(3), trainPsnrInput: +r.train.psnr.input.toFixed(3),
    ...(r.test ? { testPsnr: +r.test.psnr.learned.toFixed(3), testPsnrInput: +r.test.psnr.input.toFixed(3) } : {}),
  };
}

/** Builds and runs one experiment (the clock starts once its data are loaded); frees its images. */
async function runTimed(config: unknown, hooks: (start: number) => RunHooks): Promise<{ result: ExperimentResult; seconds: number }> {
  const experiment = await buildExperiment(config);
  await experiment.spec();
  const start = performance.now();
  try {
    const result = await runExperiment(experiment, hooks(start));
    const i = result.images;
    tf.dispose([i.train.input, i.train.learned, ...(i.test ? [i.test.input, i.test.learned] : [])]);
    return { result, seconds: (performance.now() - start) / 1000 };
  } finally {
    await experiment.dispose();
  }
}

/** examples/tv-denoising-kodak96.json (MAID) until the mean train PSNR first reaches 27.6 dB (at most `seconds`). */
async function benchTvKodak96(a: Args, seconds: number): Promise<Json> {
  const config = exampleConfig(a, 'tv-denoising-kodak96.json', dataDir(a, 'Kodak24-96'));
  if (a.smoke) {
    config.data.train.count = 2;
    config.budget = { maxIterations: 3 };
  } else config.budget = { maxIterations: 500, maxSeconds: seconds };
  let reached: number | undefined;
  let at: IterationRecord | undefined;
  const reads0 = readCount();
  const { result, seconds: wall } = await runTimed(config, (start) => ({
    onIteration: (r) => {
      if (reached === undefined && (r.psnr ?? 0) >= 27.6) {
        reached = (performance.now() - start) / 1000;
        at = r;
      }
    },
    shouldStop: () => reached !== undefined,
  }));
  return {
    target: 27.6, reached: reached !== undefined, secondsTo27_6: reached === undefined ? null : +reached.toFixed(2),
    iterationsTo27_6: at?.iter ?? null, workTo27_6: at ? at.lowerIterations + at.cgIterations : null,
    runSeconds: +wall.toFixed(2), readsInProcess: readCount() - reads0, ...runFigures(result),
  };
}

/** The smoke-test shrink of the paper-scale config: 2 train / 1 test images at 32×32, 4 filters, 2 iterations. */
function smokeFoe(config: Json & { data: { train: Json; test?: Json } }): void {
  Object.assign(config.data.train, { count: 2, size: [32, 32] });
  if (config.data.test) Object.assign(config.data.test, { count: 1, offset: 2, size: [32, 32] });
  const reg = config.regularizer as { options: Json };
  reg.options = { ...reg.options, filters: 4 };
  config.budget = { maxIterations: 2 };
}

/**
 * examples/foe-denoising-kodak256.json (48 filters 7×7, 20 train / 4 test 256×256, σ = 0.1) for `seconds` of
 * optimisation (then the final train/test evaluation); every outer iteration's row is kept in `section.rows`.
 */
async function benchPaperFoe(a: Args, seconds: number, section: Json, save: () => void): Promise<Json> {
  const config = exampleConfig(a, 'foe-denoising-kodak256.json', dataDir(a, 'Kodak24-256'));
  if (a.smoke) smokeFoe(config);
  else config.budget = { ...config.budget, maxSeconds: Math.max(1, Math.floor(seconds)) };
  const rows: Json[] = [];
  Object.assign(section, { config: { data: config.data, regularizer: config.regularizer, optimizer: config.optimizer, budget: config.budget }, rows });
  const { result } = await runTimed(config, () => ({
    testEvery: a.testEvery,
    onIteration: (r) => {
      rows.push({ iter: r.iter, seconds: +r.seconds.toFixed(2), upperLoss: r.upperLoss, psnr: r.psnr, testPsnr: r.testPsnr, epsilon: r.epsilon,
        lowerIterations: r.lowerIterations, cgIterations: r.cgIterations, hostReads: r.hostReads });
      save();
    },
  }));
  return { ...runFigures(result), goalTestPsnr: 29.5, paperTestPsnr: 29.7 };
}

function writeJson(file: string, value: unknown): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(`${file}.tmp`, JSON.stringify(value, null, 2) + '\n');
  renameSync(`${file}.tmp`, file);
}

/** Runs `fn` into `report.sections[name]`: its figures, or its error; the JSON is rewritten after it either way. */
async function section(report: Report, name: string, save: () => void, fn: (into: Json) => Promise<Json>): Promise<void> {
  if (report.only && name !== 'backend' && !report.only.includes(name)) return;
  const into: Json = { startedAt: +elapsed().toFixed(2) };
  report.sections[name] = into;
  process.stderr.write(`[gpu-bench ${elapsed().toFixed(1)}s] ${name} …\n`);
  try {
    Object.assign(into, await fn(into));
  } catch (e) {
    into.error = e instanceof Error ? `${e.message}\n${(e.stack ?? '').split('\n').slice(1, 6).join('\n')}` : String(e);
  }
  into.seconds = +(elapsed() - (into.startedAt as number)).toFixed(2);
  save();
  process.stderr.write(`[gpu-bench ${elapsed().toFixed(1)}s] ${name}: ${into.error ? `failed: ${String(into.error).split('\n')[0]}` : 'done'}\n`);
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const report: Report = {
    command: `gpu.ts ${process.argv.slice(2).join(' ')}`.trim(), smoke: a.smoke, budgetSeconds: a.budget, startedAt: new Date().toISOString(), only: a.only, sections: {},
  };
  const save = () => writeJson(a.out, { ...report, totalSeconds: +elapsed().toFixed(2) });
  await section(report, 'backend', save, async () => {
    const b = await startBackend(a.backend);
    report.backend = b.backend;
    report.machine = machine();
    return b;
  });
  if (report.sections.backend.error) {
    process.exitCode = 1;
    return;
  }
  await section(report, 'foeKernels', save, () => benchFoeKernels(a));
  // TV gets at most a quarter of what is left; the FoE run what remains, less a reserve for its final evaluation.
  await section(report, 'tvKodak96', save, () => benchTvKodak96(a, Math.max(10, Math.min(120, (a.budget - elapsed()) / 4))));
  const left = a.budget - elapsed();
  await section(report, 'paperFoe', save, (into) => benchPaperFoe(a, left - Math.max(60, 0.2 * left), into, save));
  const failed = Object.keys(report.sections).filter((k) => report.sections[k].error);
  // Exit status 1 when a section failed (its error is in the JSON, the other sections' figures too).
  if (failed.length > 0) process.exitCode = 1;
  process.stderr.write(`[gpu-bench] ${a.out}${failed.length ? ` (failed: ${failed.join(', ')})` : ''}\n`);
}

// No top-level await: the GPU bundle is CommonJS (esbuild --format=cjs).
main().catch((e: unknown) => {
  process.stderr.write(`gpu-bench: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exitCode = 1;
});
