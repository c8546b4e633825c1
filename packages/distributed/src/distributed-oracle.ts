import { randomUUID } from 'node:crypto';
import {
  BilevelError, readTensors, tf,
  type BatchCostScaling, type Curvature, type HypergradientOptions, type HypergradientResult, type ImageBatch, type LipschitzState,
  type LowerEvaluation, type Oracle, type OracleCounters, type OracleState, type ShardState, type Tensor,
} from '@bilevel/core';
import { reduceEvaluations, reduceHypergradients, shardEvaluationOf, shardRanges, shardShares, UnknownEvaluationError, zeroCounters } from '@bilevel/oracles';
import { runKeys, type RunSetup, type ShardEvaluationNumbers, type ShardJob, type ShardJobResult } from './protocol.js';
import type { ShardTransport } from './transport.js';

export interface DistributedOracleOptions {
  transport: ShardTransport;
  /** The experiment config the workers build their shard oracles from (plugin names and options). */
  config: unknown;
  backend: string;
  /** The training pairs (uploaded once, a slice per shard). */
  clean: ImageBatch;
  measurement: Tensor;
  /** Number of image shards: θ depends on it, not on how many workers serve them. */
  shards: number;
  /** μ and L of h(·, θ) over all images (the coordinator's problem.curvature). */
  curvature: (theta: Float32Array) => Curvature;
}

/** A shard's warm starts: keys of x (the accepted x̃) and q (the last CG solution), and its constant estimates. */
interface ShardWarm {
  x: string;
  q: string | null;
  qImages?: number[];
  lipschitz: LipschitzState;
  /** The shard's numbers of the accepted evaluation (for checkpoints). */
  accepted?: ShardEvaluationNumbers;
}

/** A held evaluation: its reduced handle and each shard's x̃ key and numbers. */
interface Held {
  ev: LowerEvaluation;
  shards: (ShardEvaluationNumbers & { x: string })[];
}

/** The largest per-worker total of `f` over the jobs of one call (the call's critical path). */
function busiest(results: readonly ShardJobResult[], f: (r: ShardJobResult) => number): number {
  const per = new Map<string, number>();
  for (const r of results) per.set(r.worker, (per.get(r.worker) ?? 0) + f(r));
  return Math.max(...per.values());
}

const NO_ESTIMATES: LipschitzState = { jacobianNorm: 0, lipschitzJ: 0, lipschitzHessian: 0 };

/** Subsets (minibatches) are not distributed yet. */
export class DistributedSubsetError extends BilevelError {
  constructor() {
    super('the distributed oracle does not split minibatches yet', 'run ISGD, Adam and stochastic MAID in-process or with --workers; MAID, HOAG, DFO and fixed-accuracy descent run on the engine');
  }
}

/**
 * The sharded oracle over an engine (DESIGN §1, as ShardedOracle): the n training images in fixed contiguous shards,
 * each oracle call one job per shard, the results reduced here in shard order. Workers keep no state between jobs that
 * changes numbers: each shard's warm starts (x̃, the CG solution q, the probe state) are arrays under keys written
 * once per evaluation and named in the next job, so any worker can take any shard, and a job re-run after its worker
 * died returns the same numbers.
 */
export class DistributedOracle implements Oracle {
  readonly counters: OracleCounters = zeroCounters();
  readonly rawCounters = { lowerIterations: 0, cgIterations: 0 };
  private readonly held = new Map<number, Held>();
  private acceptedEvaluation: LowerEvaluation | undefined;
  /** Whether the accepted evaluation was released (its x̃ keys go when another is accepted). */
  private acceptedReleased = false;
  private jacobianNorm = 0;
  private calls = 0;
  private nextId = 1;
  private readonly keys: ReturnType<typeof runKeys>;
  private readonly shares: number[];
  private readonly live = new Set<string>();
  /**
   * Where the time of oracle calls went: `wallSeconds` waiting for the shards' jobs; per call, the busiest worker's
   * time in oracle operations (`computeSeconds`) and in whole jobs (`jobSeconds`, with the arrays in and out). The
   * rest of the wait is dispatch: queueing, job hand-over and results coming back.
   */
  readonly engineStats = { calls: 0, wallSeconds: 0, computeSeconds: 0, jobSeconds: 0 };

  private constructor(
    private readonly transport: ShardTransport,
    private readonly run: string,
    private readonly ranges: [number, number][],
    private readonly warm: ShardWarm[],
    private readonly imageShape: readonly [number, number],
    private readonly curvatureOf: (theta: Float32Array) => Curvature,
  ) {
    this.keys = runKeys(run);
    this.size = ranges[ranges.length - 1][1];
    this.shares = shardShares(ranges.map(([a, b]) => b - a), this.size);
  }

  readonly size: number;

  /** Uploads the setup and each shard's images once, then has each shard's oracle built and its x₀ stored. */
  static async create(o: DistributedOracleOptions): Promise<DistributedOracle> {
    const [n, h, w] = o.clean.shape;
    const ranges = shardRanges(n, o.shards);
    const run = randomUUID().replace(/-/g, '').slice(0, 16);
    const keys = runKeys(run);
    const slices = ranges.map(([a, b]) => [tf.slice(o.clean, a, b - a), tf.slice(o.measurement, a, b - a)]);
    const setup: RunSetup = {
      config: o.config, backend: o.backend, size: n, ranges,
      cleanShape: slices.map(([c]) => c.shape), measurementShape: slices.map(([, m]) => m.shape),
    };
    const oracle = new DistributedOracle(o.transport, run, ranges, ranges.map(() => ({ x: '', q: null, lipschitz: NO_ESTIMATES })), [h, w], o.curvature);
    const store = o.transport.store;
    await oracle.put(keys.setup, () => store.putJson(keys.setup, setup));
    for (const [s, [c, m]] of slices.entries()) {
      const [cv, mv] = await readTensors(c, m);
      await oracle.put(keys.clean(s), () => store.put(keys.clean(s), cv));
      await oracle.put(keys.measurement(s), () => store.put(keys.measurement(s), mv));
    }
    tf.dispose(slices.flat());
    const inits = await oracle.jobs((s, out) => ({ op: 'init', run, shard: s, out }), 'x');
    inits.forEach((r, s) => (oracle.warm[s].x = (r as Extract<ShardJobResult, { op: 'init' }>).x));
    return oracle;
  }

  get upperLipschitz(): number {
    return 1 / this.size;
  }

  /** Where the shard jobs run. */
  get where(): string {
    return this.transport.where;
  }

  private async put(key: string, write: () => Promise<void>): Promise<void> {
    await write();
    this.live.add(key);
  }

  /** One job per shard (its output key made from this call's number), run on the transport; results in shard order. */
  private async jobs(make: (s: number, out: string) => ShardJob, kind: 'x' | 'q' | 'none'): Promise<ShardJobResult[]> {
    const call = ++this.calls;
    const jobs = this.ranges.map((_, s) => {
      const out = kind === 'q' ? this.keys.q(call, s) : this.keys.x(call, s);
      return { id: `${this.run}-${call}-${s}`, job: make(s, out) };
    });
    const t0 = performance.now();
    const results = await this.transport.run(jobs);
    this.engineStats.calls++;
    this.engineStats.wallSeconds += (performance.now() - t0) / 1000;
    this.engineStats.computeSeconds += busiest(results, (r) => r.seconds);
    this.engineStats.jobSeconds += busiest(results, (r) => r.jobSeconds);
    if (kind !== 'none') for (const { job } of jobs) this.live.add((job as { out: string }).out);
    return results;
  }

  private drop(keys: readonly string[]): void {
    const gone = keys.filter((k) => this.live.delete(k));
    void this.transport.store.delete(gone).catch(() => {});
  }

  curvature(theta: Float64Array): Curvature {
    return this.curvatureOf(Float32Array.from(theta));
  }

  async accuracyFloor(theta: Float64Array): Promise<number> {
    const r = await this.jobs((s) => ({ op: 'floor', run: this.run, shard: s, theta: Array.from(theta), x: this.warm[s].x }), 'none');
    return Math.max(...r.map((f, s) => (f as Extract<ShardJobResult, { op: 'floor' }>).floor / this.shares[s]));
  }

  private heldOf(ev: LowerEvaluation): Held {
    const h = this.held.get(ev.id);
    if (!h) throw new UnknownEvaluationError(ev.id, 'DistributedOracle');
    return h;
  }

  async evaluate(theta: Float64Array, epsilon: number, from?: LowerEvaluation): Promise<LowerEvaluation> {
    const t0 = performance.now();
    const start = from && this.heldOf(from);
    const results = (await this.jobs((s, out) => ({
      op: 'evaluate', run: this.run, shard: s, theta: Array.from(theta), eps: epsilon * this.shares[s], x: start ? start.shards[s].x : this.warm[s].x, out,
    }), 'x')) as Extract<ShardJobResult, { op: 'evaluate' }>[];
    const shards = results.map(({ x, value, upperGradNorm, lower }) => ({ x, value, upperGradNorm, lower }));
    const ev = reduceEvaluations(shards.map((p) => shardEvaluationOf({ id: 0, theta, ...p })), this.shares, this.nextId++, theta);
    this.held.set(ev.id, { ev, shards });
    this.counters.lowerIterations += ev.lower.iterations;
    this.counters.lowerSeconds += (performance.now() - t0) / 1000;
    return ev;
  }

  async accept(ev: LowerEvaluation): Promise<void> {
    const h = this.heldOf(ev);
    const previous = this.acceptedEvaluation;
    if (previous?.id === ev.id) return;
    h.shards.forEach((p, s) => {
      this.warm[s].x = p.x;
      this.warm[s].accepted = { value: p.value, upperGradNorm: p.upperGradNorm, lower: p.lower };
    });
    if (previous && this.acceptedReleased) this.forget(previous.id);
    this.acceptedEvaluation = ev;
    this.acceptedReleased = false;
  }

  accepted(): LowerEvaluation | undefined {
    return this.acceptedEvaluation;
  }

  /** Frees an evaluation's x̃ keys (the accepted one's stay: they are the warm start). */
  release(ev: LowerEvaluation): void {
    if (!this.held.has(ev.id)) return;
    if (ev.id === this.acceptedEvaluation?.id) this.acceptedReleased = true;
    else this.forget(ev.id);
  }

  private forget(id: number): void {
    const h = this.held.get(id);
    if (!h) return;
    this.held.delete(id);
    const inUse = new Set(this.warm.map((w) => w.x));
    this.drop(h.shards.map((p) => p.x).filter((k) => !inUse.has(k)));
  }

  async hypergradient(theta: Float64Array, epsilon: number, delta: number, evaluation?: LowerEvaluation, options: HypergradientOptions = {}): Promise<HypergradientResult> {
    const ev = evaluation ?? (await this.evaluate(theta, epsilon));
    const h = this.heldOf(ev);
    const { mu } = this.curvature(theta);
    const t0 = performance.now();
    const withBound = options.errorBound ?? true;
    const valueEstimate = options.valueEstimate ?? false;
    const results = (await this.jobs((s, out) => {
      const w = this.warm[s];
      const p = h.shards[s];
      return {
        op: 'hypergradient', run: this.run, shard: s, theta: Array.from(theta), eps: epsilon * this.shares[s], delta: delta * this.shares[s],
        x: p.x, q: w.q, qImages: w.qImages, lipschitz: w.lipschitz, evaluation: { value: p.value, upperGradNorm: p.upperGradNorm, lower: p.lower },
        options: { valueEstimate, errorBound: withBound }, out,
      };
    }, 'q')) as Extract<ShardJobResult, { op: 'hypergradient' }>[];
    const old = this.warm.map((w) => w.q).filter((k): k is string => k !== null);
    results.forEach((r, s) => Object.assign(this.warm[s], { q: r.q, qImages: r.qImages, lipschitz: r.lipschitz }));
    this.drop(old);
    const result = reduceHypergradients(results, this.shares, {
      evaluation: ev, epsilon, mu, upperLipschitz: this.upperLipschitz, jacobianNorm: this.jacobianNorm, withBound, valueEstimate, seconds: (performance.now() - t0) / 1000,
    }, this.counters);
    this.jacobianNorm = result.stats.jacobianNorm;
    return result;
  }

  /** The arrays under `keys` (one per shard) as one array in image order. */
  private async gather(keys: readonly string[]): Promise<Float32Array> {
    const parts = await Promise.all(keys.map((k) => this.transport.store.get(k)));
    const [h, w] = this.imageShape;
    const all = new Float32Array(this.size * h * w);
    parts.forEach((v, s) => all.set(v, this.ranges[s][0] * h * w));
    return all;
  }

  async reconstruction(ev?: LowerEvaluation): Promise<ImageBatch> {
    const keys = ev ? this.heldOf(ev).shards.map((p) => p.x) : this.warm.map((w) => w.x);
    const [h, w] = this.imageShape;
    return tf.tensor4d(await this.gather(keys), [this.size, h, w, 1]);
  }

  async subset(): Promise<Oracle> {
    throw new DistributedSubsetError();
  }

  async merge(_sub: Oracle, _o: { keep: boolean; costScaling: BatchCostScaling }): Promise<void> {
    throw new DistributedSubsetError();
  }

  async saveState(): Promise<OracleState> {
    const [h, w] = this.imageShape;
    const hasQ = this.warm.map((s) => s.q !== null);
    const x = await this.gather(this.warm.map((s) => s.x));
    let q: Float32Array | null = null;
    if (hasQ.some(Boolean)) {
      q = new Float32Array(this.size * h * w);
      for (const [s, sw] of this.warm.entries()) if (sw.q) q.set(await this.transport.store.get(sw.q), this.ranges[s][0] * h * w);
    }
    const a = this.acceptedEvaluation;
    const shards = this.warm.map((sw, s): ShardState => ({
      counters: zeroCounters(), lipschitz: sw.lipschitz,
      extra: { hasQ: Number(hasQ[s]), ...(sw.qImages ? { qImages: sw.qImages } : {}) },
      accepted: sw.accepted && a ? { theta: Array.from(a.theta), ...sw.accepted } : undefined,
    }));
    return {
      x, q, counters: { ...this.counters }, lipschitz: { jacobianNorm: this.jacobianNorm, lipschitzJ: 0, lipschitzHessian: 0 }, shards,
      extra: { rawLowerIterations: this.rawCounters.lowerIterations, rawCgIterations: this.rawCounters.cgIterations },
      accepted: a && { theta: Array.from(a.theta), value: a.value, upperGradNorm: a.upperGradNorm, lower: { ...a.lower } },
    };
  }

  /** Uploads a checkpoint's warm starts under new keys (a resumed coordinator continues with the same numbers). */
  async restoreState(st: OracleState): Promise<void> {
    if (!st.shards || st.shards.length !== this.ranges.length) {
      throw new BilevelError(`the checkpoint has ${st.shards?.length ?? 0} shard states, this oracle ${this.ranges.length} shards`, 'resume with the --shards of the run (run.json)');
    }
    const [h, w] = this.imageShape;
    const call = ++this.calls;
    const store = this.transport.store;
    const old = this.warm.flatMap((sw) => [sw.x, ...(sw.q ? [sw.q] : [])]);
    for (const [s, [a, b]] of this.ranges.entries()) {
      const shard = st.shards[s];
      const sw = this.warm[s];
      sw.x = this.keys.x(call, s);
      await this.put(sw.x, () => store.put(sw.x, st.x.slice(a * h * w, b * h * w)));
      sw.q = shard.extra?.hasQ && st.q ? this.keys.q(call, s) : null;
      if (sw.q) await this.put(sw.q, () => store.put(sw.q!, st.q!.slice(a * h * w, b * h * w)));
      sw.qImages = Array.isArray(shard.extra?.qImages) ? (shard.extra.qImages as number[]) : undefined;
      sw.lipschitz = shard.lipschitz;
      sw.accepted = shard.accepted && { value: shard.accepted.value, upperGradNorm: shard.accepted.upperGradNorm, lower: { ...shard.accepted.lower } };
    }
    this.drop(old);
    Object.assign(this.counters, st.counters);
    this.rawCounters.lowerIterations = typeof st.extra?.rawLowerIterations === 'number' ? st.extra.rawLowerIterations : 0;
    this.rawCounters.cgIterations = typeof st.extra?.rawCgIterations === 'number' ? st.extra.rawCgIterations : 0;
    this.jacobianNorm = st.lipschitz.jacobianNorm;
    this.held.clear();
    const a = st.accepted;
    this.acceptedEvaluation = undefined;
    if (a && this.warm.every((sw) => sw.accepted)) {
      const ev: LowerEvaluation = { id: this.nextId++, theta: Float64Array.from(a.theta), value: a.value, upperGradNorm: a.upperGradNorm, lower: { ...a.lower } };
      this.held.set(ev.id, { ev, shards: this.warm.map((sw) => ({ x: sw.x, ...sw.accepted! })) });
      this.acceptedEvaluation = ev;
      this.acceptedReleased = true;
    }
  }

  /** Deletes the run's keys from the store and closes the transport. */
  async dispose(): Promise<void> {
    await this.transport.store.delete([...this.live]).catch(() => {});
    this.live.clear();
    this.held.clear();
    await this.transport.close();
  }
}
