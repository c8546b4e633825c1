import { cpus } from 'node:os';
import { Worker } from 'node:worker_threads';
import {
  LowerLevelProblem, maidErrorBound, MeanSquaredUpperLoss, tf, VALUE_ESTIMATE_WORK, type ExperimentSpec, type HypergradientOptions, type HypergradientResult, type ImageBatch,
  type LowerEvaluation, type LowerStop, type Oracle, type OracleCounters, type OracleState,
} from '@bilevel/core';
import { Channel, channelBuffers } from './channel.js';
import { assignShards, shardRanges, type ShardEvaluation, type ShardHypergradient } from './shards.js';
import type { WorkerInit } from './worker.js';

export interface ShardedOracleOptions {
  /** The raw config and base folder the workers rebuild the experiment from. */
  config: unknown;
  baseDir: string;
  backend?: string;
  workers: number;
  /** Fixed number of image shards (default: CPU cores); results depend on it, not on `workers`. */
  shards?: number;
}

/** The compiled worker script (under a test runner this module is loaded from src/, the worker runs from dist/). */
function workerUrl(): URL {
  const url = new URL('./worker.js', import.meta.url);
  return url.pathname.includes('/src/parallel/') ? new URL(url.href.replace('/src/parallel/', '/dist/parallel/')) : url;
}

const STOP_ORDER: LowerStop[] = ['certified', 'iteration-cap', 'float32-floor'];

/**
 * The hypergradient oracle over worker threads: the training images are cut into a fixed number of contiguous
 * shards, each an in-process HypergradientOracle inside a worker (its own tfjs backend). A stacked accuracy ε is
 * split as ε_s = ε √(n_s/n) (so Σ ε_s² = ε²); θ is broadcast; values, hypergradients and certificates are reduced
 * on the main thread in shard order. Since the shards do not depend on the worker count, neither do the results.
 */
export class ShardedOracle implements Oracle {
  readonly counters: OracleCounters = { lowerIterations: 0, cgIterations: 0, lowerSeconds: 0, cgSeconds: 0, probeWork: 0 };
  readonly upper: MeanSquaredUpperLoss;
  private readonly problem: LowerLevelProblem;
  private readonly ranges: [number, number][];
  private readonly assignment: number[][];
  private readonly channels: Channel[];
  private readonly workers: Worker[];
  private readonly n: number;
  private readonly pixels: number;
  private nextId = 1;
  private currentId = 0;
  private cached: ImageBatch | undefined;
  private jacobianNorm = 0;

  private constructor(spec: ExperimentSpec, ranges: [number, number][], assignment: number[][], workers: Worker[], channels: Channel[]) {
    this.upper = new MeanSquaredUpperLoss(spec.train.clean);
    this.problem = new LowerLevelProblem(spec.operator, spec.fidelity, spec.regularizer, spec.train.measurement, spec.gamma);
    this.ranges = ranges;
    this.assignment = assignment;
    this.workers = workers;
    this.channels = channels;
    this.n = spec.train.clean.shape[0];
    this.pixels = spec.train.clean.shape[1] * spec.train.clean.shape[2];
  }

  /** Starts the workers (each loads the data and builds its shards' oracles) and waits until they are ready. */
  static async create(spec: ExperimentSpec, o: ShardedOracleOptions): Promise<ShardedOracle> {
    const n = spec.train.clean.shape[0];
    const ranges = shardRanges(n, o.shards ?? cpus().length);
    const assignment = assignShards(ranges.length, o.workers);
    const pixels = spec.train.clean.shape[1] * spec.train.clean.shape[2];
    const workers: Worker[] = [];
    const channels: Channel[] = [];
    for (const shardIds of assignment) {
      const images = shardIds.reduce((m, s) => m + ranges[s][1] - ranges[s][0], 0);
      const buffers = channelBuffers(16 << 20, 2 * images * pixels);
      const init: WorkerInit = { config: o.config, baseDir: o.baseDir, backend: o.backend, ranges: shardIds.map((s) => ranges[s]), shardIds, buffers };
      const worker = new Worker(workerUrl(), { workerData: init });
      worker.unref();
      await new Promise<void>((resolve, reject) => {
        worker.once('message', () => resolve());
        worker.once('error', reject);
        worker.once('exit', (code) => reject(new Error(`worker exited with code ${code} before it was ready`)));
      });
      workers.push(worker);
      channels.push(new Channel(buffers));
    }
    return new ShardedOracle(spec, ranges, assignment, workers, channels);
  }

  /** Sends one request per worker (built from its shard numbers), waits for all, returns per-shard results in shard order. */
  private call<T>(make: (shards: number[]) => object): T[] {
    this.channels.forEach((c, w) => c.post(make(this.assignment[w])));
    const out: T[] = new Array(this.ranges.length);
    this.channels.forEach((c, w) => {
      const r = c.wait() as T[] | null;
      if (r) this.assignment[w].forEach((s, k) => (out[s] = r[k]));
    });
    return out;
  }

  private share(s: number): number {
    return Math.sqrt((this.ranges[s][1] - this.ranges[s][0]) / this.n);
  }

  /** Reads per-shard images that workers wrote to their float buffers into one [n, h, w, 1] tensor. */
  private gatherImages(op: object): ImageBatch {
    this.call(() => op);
    const all = new Float32Array(this.n * this.pixels);
    this.channels.forEach((c, w) => {
      let o = 0;
      for (const s of this.assignment[w]) {
        const len = (this.ranges[s][1] - this.ranges[s][0]) * this.pixels;
        all.set(c.floats.subarray(o, o + len), this.ranges[s][0] * this.pixels);
        o += len;
      }
    });
    return tf.tensor4d(all, this.problem.imageShape);
  }

  get current(): ImageBatch {
    this.cached ??= tf.keep(this.gatherImages({ op: 'readCurrent' }));
    return this.cached;
  }

  curvature(theta: Float64Array): { mu: number; L: number } {
    return this.problem.curvature(Float32Array.from(theta));
  }

  accuracyFloor(theta: Float64Array): number {
    const floors = this.call<number>(() => ({ op: 'floor', theta: Array.from(theta) }));
    return Math.max(...floors.map((f, s) => f / this.share(s)));
  }

  evaluate(theta: Float64Array, epsilon: number, from?: LowerEvaluation): LowerEvaluation {
    const t0 = performance.now();
    const id = this.nextId++;
    const start = from && this.idOf(from);
    const parts = this.call<ShardEvaluation>((shards) => ({ op: 'evaluate', id, theta: Array.from(theta), eps: shards.map((s) => epsilon * this.share(s)), from: start }));
    const sum = (f: (p: ShardEvaluation) => number) => parts.reduce((a, p) => a + f(p), 0);
    const iterations = parts.reduce((a, p, s) => a + p.iterations * this.share(s) ** 2, 0);
    this.counters.lowerIterations += iterations;
    this.counters.lowerSeconds += (performance.now() - t0) / 1000;
    let x: ImageBatch | undefined;
    const fetch = () => (x ??= tf.keep(this.gatherImages({ op: 'readX', id })));
    const lower = {
      get x() { return fetch(); },
      iterations,
      gradNorm: Math.sqrt(sum((p) => p.gradNormSq)),
      certifiedError: Math.sqrt(sum((p) => p.certifiedSq)),
      stop: parts.map((p) => p.stop).reduce((a, b) => (STOP_ORDER.indexOf(b) > STOP_ORDER.indexOf(a) ? b : a), 'certified' as LowerStop),
    };
    return {
      theta: Float64Array.from(theta), get x() { return fetch(); }, value: sum((p) => p.value), upperGradNorm: Math.sqrt(sum((p) => p.upperGradNormSq)), lower,
      ...({ shardedId: id, dispose: () => x?.dispose() } as object),
    } as LowerEvaluation;
  }

  private idOf(ev: LowerEvaluation): number {
    return (ev as unknown as { shardedId: number }).shardedId;
  }

  accept(ev: LowerEvaluation): void {
    const id = this.idOf(ev);
    this.call(() => ({ op: 'accept', id }));
    this.currentId = id;
    this.cached?.dispose();
    this.cached = undefined;
  }

  release(ev: LowerEvaluation): void {
    const id = this.idOf(ev);
    const x = Object.getOwnPropertyDescriptor(ev, 'x');
    // A plain evaluation (built by an optimizer around `current`) owns its x tensor.
    if (x && 'value' in x && !(ev.x as ImageBatch).isDisposed) ev.x.dispose();
    if (id === undefined) return;
    this.call(() => ({ op: 'release', id }));
    (ev as unknown as { dispose(): void }).dispose();
  }

  hypergradient(theta: Float64Array, epsilon: number, delta: number, evaluation?: LowerEvaluation, options: HypergradientOptions = {}): HypergradientResult {
    const ev = evaluation ?? this.evaluate(theta, epsilon);
    const { mu } = this.curvature(theta);
    const t0 = performance.now();
    const withBound = options.errorBound ?? true;
    let id = this.idOf(ev);
    if (id === undefined) {
      id = this.nextId++;
      const adopted = id;
      this.call(() => ({ op: 'adopt', id: adopted }));
      Object.assign(ev, { shardedId: id, dispose: () => undefined });
    }
    const parts = this.call<ShardHypergradient>((shards) => ({
      op: 'hypergradient', id, theta: Array.from(theta), eps: shards.map((s) => epsilon * this.share(s)), delta: shards.map((s) => delta * this.share(s)),
      valueEstimate: options.valueEstimate ?? false, errorBound: withBound,
    }));
    const grad = new Float64Array(parts[0].grad.length);
    for (const p of parts) p.grad.forEach((g, j) => (grad[j] += g));
    const qNorm = Math.sqrt(parts.reduce((a, p) => a + p.qNormSq, 0));
    const zNorm = Math.hypot(...grad);
    // J stacks the shards' blocks, so ‖J‖² ≤ Σ_s ‖J_s‖² (near equality when the shards' images are alike).
    const stacked = Math.sqrt(parts.reduce((a, p) => a + p.jacobianNorm ** 2, 0));
    this.jacobianNorm = Math.max(this.jacobianNorm, qNorm > 0 ? zNorm / qNorm : 0, stacked);
    const lipschitzJ = Math.max(...parts.map((p) => p.lipschitzJ));
    const lipschitzHessian = Math.max(...parts.map((p) => p.lipschitzHessian));
    const cgIterations = parts.reduce((a, p, s) => a + p.cgIterations * this.share(s) ** 2, 0);
    this.counters.cgIterations += cgIterations;
    this.counters.cgSeconds += (performance.now() - t0) / 1000;
    const cgResidual = Math.sqrt(parts.reduce((a, p) => a + p.cgResidualSq, 0));
    // Each shard probes its share of the images (work scaled as CG's).
    const probeWork = parts.reduce((a, p, s) => a + p.probeWork * this.share(s) ** 2, 0);
    this.counters.probeWork += probeWork;
    const errorBound = !withBound ? Number.NaN : maidErrorBound({ epsilon, delta: cgResidual, mu, Lg: this.upper.lipschitz, upperGradNorm: ev.upperGradNorm, jacobianNorm: this.jacobianNorm, lipschitzJ, lipschitzHessian });
    // g = Σ_s g_s, so the shards' corrected values and bounds add up; their cost is a full batch's (HypergradientOracle).
    const valueEstimate = options.valueEstimate
      ? parts.reduce((a, p) => ({ value: a.value + p.valueEstimate!.value, bound: a.bound + p.valueEstimate!.bound }), { value: 0, bound: 0 })
      : undefined;
    if (valueEstimate) {
      this.counters.lowerIterations += VALUE_ESTIMATE_WORK.lowerIterations;
      this.counters.cgIterations += VALUE_ESTIMATE_WORK.cgIterations;
    }
    return {
      value: ev.value, valueEstimate, grad, errorBound, evaluation: ev,
      stats: {
        qNorm, lowerIterations: ev.lower.iterations, cgIterations, cgResidual,
        jacobianNorm: this.jacobianNorm, lipschitzJ, lipschitzHessianInverse: lipschitzHessian / (mu * mu), mu, lowerSeconds: 0, cgSeconds: (performance.now() - t0) / 1000, probeWork,
      },
    };
  }

  saveState(): OracleState {
    const parts = this.call<{ counters: OracleCounters; lipschitz: OracleState['lipschitz']; hasQ: boolean }>(() => ({ op: 'save' }));
    const x = new Float32Array(this.n * this.pixels);
    const q = new Float32Array(this.n * this.pixels);
    this.channels.forEach((c, w) => {
      const shards = this.assignment[w];
      const total = shards.reduce((m, s) => m + (this.ranges[s][1] - this.ranges[s][0]) * this.pixels, 0);
      let o = 0;
      for (const s of shards) {
        const len = (this.ranges[s][1] - this.ranges[s][0]) * this.pixels;
        x.set(c.floats.subarray(o, o + len), this.ranges[s][0] * this.pixels);
        q.set(c.floats.subarray(total + o, total + o + len), this.ranges[s][0] * this.pixels);
        o += len;
      }
    });
    return {
      x, q: parts.every((p) => p.hasQ) ? q : null, counters: { ...this.counters },
      lipschitz: { jacobianNorm: this.jacobianNorm, lipschitzJ: 0, lipschitzHessian: 0 },
      shards: parts.map((p) => ({ counters: p.counters, lipschitz: p.lipschitz })),
    };
  }

  restoreState(st: OracleState): void {
    this.channels.forEach((c, w) => {
      const shards = this.assignment[w];
      const total = shards.reduce((m, s) => m + (this.ranges[s][1] - this.ranges[s][0]) * this.pixels, 0);
      let o = 0;
      for (const s of shards) {
        const [a, b] = this.ranges[s];
        c.floats.set(st.x.subarray(a * this.pixels, b * this.pixels), o);
        if (st.q) c.floats.set(st.q.subarray(a * this.pixels, b * this.pixels), total + o);
        o += (b - a) * this.pixels;
      }
    });
    this.call((shards) => ({ op: 'restore', states: shards.map((s) => ({ ...(st.shards?.[s] ?? { counters: st.counters, lipschitz: st.lipschitz }), hasQ: st.q !== null })) }));
    Object.assign(this.counters, st.counters);
    this.jacobianNorm = st.lipschitz.jacobianNorm;
    this.cached?.dispose();
    this.cached = undefined;
  }

  dispose(): void {
    try {
      this.call(() => ({ op: 'dispose' }));
    } finally {
      for (const w of this.workers) void w.terminate();
      this.cached?.dispose();
    }
  }
}
