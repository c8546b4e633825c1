import { randomUUID } from 'node:crypto';
import {
  BilevelError, readTensors, tf,
  type BatchCostScaling, type Curvature, type HypergradientOptions, type HypergradientResult, type ImageBatch, type LipschitzState,
  type LowerEvaluation, type Oracle, type OracleCounters, type OracleState, type ShardState, type Tensor,
} from '@bilevel/core';
import {
  addSubsetWork, carriedEstimates, checkIndices, reduceEvaluations, reduceHypergradients, shardEvaluationOf, shardRanges, shardShares, splitBatch,
  UnknownEvaluationError, UnknownSubsetError, zeroCounters,
} from '@bilevel/oracles';
import { runKeys, type RunSetup, type ShardEvaluationNumbers, type ShardJob, type ShardJobResult } from './protocol.js';
import { gatherRows, scatterRows } from './rows.js';
import type { ShardTransport } from './transport.js';
import { codeIdentity } from './version.js';

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

/**
 * One shard's part of this oracle's images: their positions in this oracle's image order and, for a subset (minibatch),
 * their indices within the shard (`local`).
 */
interface Part {
  readonly shard: number;
  readonly positions: readonly number[];
  readonly local?: readonly number[];
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

/** A subset of a subset (no optimizer asks for one). */
export class DistributedSubsetError extends BilevelError {
  constructor() {
    super('DistributedOracle: a subset cannot be split again', 'take subsets of the full oracle');
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
  private readonly subsets = new Set<DistributedOracle>();
  readonly size: number;
  /**
   * Where the time of oracle calls went: `wallSeconds` waiting for the shards' jobs; per call, the busiest worker's
   * time in oracle operations (`computeSeconds`) and in whole jobs (`jobSeconds`, with the arrays in and out). The
   * rest of the wait is dispatch: queueing, job hand-over and results coming back.
   */
  readonly engineStats = { calls: 0, wallSeconds: 0, computeSeconds: 0, jobSeconds: 0 };

  private constructor(
    private readonly transport: ShardTransport,
    private readonly run: string,
    private readonly parts: readonly Part[],
    private readonly warm: ShardWarm[],
    private readonly imageShape: readonly [number, number],
    private readonly curvatureOf: (theta: Float32Array) => Curvature,
    /** The oracle this one is a subset of. */
    private readonly parent?: DistributedOracle,
  ) {
    this.keys = runKeys(run);
    this.size = parts.reduce((a, p) => a + p.positions.length, 0);
    this.shares = shardShares(parts.map((p) => p.positions.length), this.size);
  }

  /** Uploads the setup and each shard's images once, then has each shard's oracle built and its x₀ stored. */
  static async create(o: DistributedOracleOptions): Promise<DistributedOracle> {
    const [n, h, w] = o.clean.shape;
    const ranges = shardRanges(n, o.shards);
    const run = randomUUID().replace(/-/g, '').slice(0, 16);
    const keys = runKeys(run);
    const slices = ranges.map(([a, b]) => [tf.slice(o.clean, a, b - a), tf.slice(o.measurement, a, b - a)]);
    const setup: RunSetup = {
      code: codeIdentity(), config: o.config, backend: o.backend, size: n, ranges,
      cleanShape: slices.map(([c]) => c.shape), measurementShape: slices.map(([, m]) => m.shape),
    };
    const parts = ranges.map(([a, b], shard) => ({ shard, positions: Array.from({ length: b - a }, (_, i) => a + i) }));
    const oracle = new DistributedOracle(o.transport, run, parts, ranges.map(() => ({ x: '', q: null, lipschitz: NO_ESTIMATES })), [h, w], o.curvature);
    const store = o.transport.store;
    await oracle.put(keys.setup, () => store.putJson(keys.setup, setup));
    for (const [s, [c, m]] of slices.entries()) {
      const [cv, mv] = await readTensors(c, m);
      await oracle.put(keys.clean(s), () => store.put(keys.clean(s), cv));
      await oracle.put(keys.measurement(s), () => store.put(keys.measurement(s), mv));
    }
    tf.dispose(slices.flat());
    const inits = await oracle.jobs((s, out) => ({ op: 'init', ...oracle.target(s), out }), 'x');
    inits.forEach((r, s) => (oracle.warm[s].x = (r as Extract<ShardJobResult, { op: 'init' }>).x));
    return oracle;
  }

  /** Unknowns per image. */
  get pixels(): number {
    return this.imageShape[0] * this.imageShape[1];
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

  /** Writes an array under a new key of this oracle and returns the key. */
  private async store(key: string, data: Float32Array): Promise<string> {
    await this.put(key, () => this.transport.store.put(key, data));
    return key;
  }

  /** A fresh call number, unique over the run (a subset shares its parent's). */
  private nextCall(): number {
    return this.parent ? this.parent.nextCall() : ++this.calls;
  }

  /** The fields every job on part s carries: the run, the shard and, for a subset, its images there. */
  private target(s: number): Pick<ShardJob, 'run' | 'shard' | 'subset'> {
    const p = this.parts[s];
    return { run: this.run, shard: p.shard, ...(p.local ? { subset: { indices: [...p.local], count: this.size } } : {}) };
  }

  /** One job per part (its output key made from this call's number), run on the transport; results in part order. */
  private async jobs(make: (s: number, out: string) => ShardJob, kind: 'x' | 'q' | 'none'): Promise<ShardJobResult[]> {
    const call = this.nextCall();
    const jobs = this.parts.map((p, s) => {
      const out = kind === 'q' ? this.keys.q(call, p.shard) : this.keys.x(call, p.shard);
      return { id: `${this.run}-${call}-${p.shard}`, job: make(s, out) };
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
    const r = await this.jobs((s) => ({ op: 'floor', ...this.target(s), theta: Array.from(theta), x: this.warm[s].x }), 'none');
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
      op: 'evaluate', ...this.target(s), theta: Array.from(theta), eps: epsilon * this.shares[s], x: start ? start.shards[s].x : this.warm[s].x, out,
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
        op: 'hypergradient', ...this.target(s), theta: Array.from(theta), eps: epsilon * this.shares[s], delta: delta * this.shares[s],
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

  /** Per-part arrays as one array in this oracle's image order (`null` parts: zeros). */
  private assemble(values: readonly (Float32Array | null)[]): Float32Array {
    const P = this.pixels;
    const all = new Float32Array(this.size * P);
    values.forEach((v, s) => v && this.parts[s].positions.forEach((i, k) => all.set(v.subarray(k * P, (k + 1) * P), i * P)));
    return all;
  }

  /** The arrays under `keys` (one per part) as one array in image order. */
  private async gather(keys: readonly string[]): Promise<Float32Array> {
    return this.assemble(await Promise.all(keys.map((k) => this.transport.store.get(k))));
  }

  async reconstruction(ev?: LowerEvaluation): Promise<ImageBatch> {
    const keys = ev ? this.heldOf(ev).shards.map((p) => p.x) : this.warm.map((w) => w.x);
    const [h, w] = this.imageShape;
    return tf.tensor4d(await this.gather(keys), [this.size, h, w, 1]);
  }

  /** Whether image k of part s has a CG solution as its q warm start. */
  private hasQ(s: number, k: number): boolean {
    const w = this.warm[s];
    return w.q !== null && (!w.qImages || w.qImages[k] !== 0);
  }

  /**
   * An oracle over the images `indices`, split by the same shards (each shard's jobs then carry its images of the
   * batch): warm starts gathered from this one's (q only where every image of the part has one), the constant
   * estimates carried over, g normalised by |B| (as HypergradientOracle.subset, shard by shard).
   */
  async subset(indices: readonly number[]): Promise<Oracle> {
    if (this.parent) throw new DistributedSubsetError();
    checkIndices(indices, this.size, 'DistributedOracle.subset');
    const { local, positions } = splitBatch(this.parts, indices);
    const kept = this.parts.map((_, s) => s).filter((s) => local[s].length > 0);
    const call = this.nextCall();
    const P = this.pixels;
    const warm: ShardWarm[] = [];
    for (const s of kept) {
      const w = this.warm[s];
      const shard = this.parts[s].shard;
      const x = await this.store(this.keys.x(call, shard), gatherRows(await this.transport.store.get(w.x), local[s], P));
      const withQ = w.q !== null && local[s].every((k) => this.hasQ(s, k));
      const q = withQ ? await this.store(this.keys.q(call, shard), gatherRows(await this.transport.store.get(w.q!), local[s], P)) : null;
      warm.push({ x, q, lipschitz: carriedEstimates(w.lipschitz) });
    }
    const parts = kept.map((s) => ({ shard: this.parts[s].shard, positions: positions[s], local: local[s] }));
    const sub = new DistributedOracle(this.transport, this.run, parts, warm, this.imageShape, this.curvatureOf, this);
    sub.jacobianNorm = this.jacobianNorm;
    // The gathered arrays are the subset's to free.
    for (const w of warm) for (const k of [w.x, w.q]) if (k && this.live.delete(k)) sub.live.add(k);
    this.subsets.add(sub);
    return sub;
  }

  /**
   * Ends a subset: its work is added (scaled by |B|/n for 'per-image'); with `keep` its warm starts x (and q, where it
   * has one) are scattered back into this oracle's images and its constant estimates carried over, shard by shard.
   */
  async merge(sub: Oracle, o: { keep: boolean; costScaling: BatchCostScaling }): Promise<void> {
    if (!(sub instanceof DistributedOracle) || !this.subsets.has(sub)) throw new UnknownSubsetError('DistributedOracle');
    addSubsetWork(this, sub, this.size, o);
    for (const k of ['calls', 'wallSeconds', 'computeSeconds', 'jobSeconds'] as const) this.engineStats[k] += sub.engineStats[k];
    if (o.keep) {
      await this.scatter(sub);
      this.jacobianNorm = sub.jacobianNorm;
      this.acceptedEvaluation = undefined;
    }
    this.subsets.delete(sub);
    await sub.dispose();
  }

  /** Writes a subset's warm starts into this oracle's, under new keys. */
  private async scatter(sub: DistributedOracle): Promise<void> {
    const call = this.nextCall();
    const P = this.pixels;
    const store = this.transport.store;
    const old: string[] = [];
    for (const [j, sp] of sub.parts.entries()) {
      const s = this.parts.findIndex((p) => p.shard === sp.shard);
      const w = this.warm[s];
      const sw = sub.warm[j];
      const rows = sp.local!;
      old.push(w.x);
      w.x = await this.store(this.keys.x(call, sp.shard), scatterRows(await store.get(w.x), await store.get(sw.x), rows, P));
      if (sw.q) {
        const n = this.parts[s].positions.length;
        const hasQ = Array.from({ length: n }, (_, k) => this.hasQ(s, k) || rows.includes(k));
        const q = w.q ? await store.get(w.q) : new Float32Array(n * P);
        if (w.q) old.push(w.q);
        w.q = await this.store(this.keys.q(call, sp.shard), scatterRows(q, await store.get(sw.q), rows, P));
        w.qImages = hasQ.every(Boolean) ? undefined : hasQ.map(Number);
      }
      w.lipschitz = carriedEstimates(sw.lipschitz);
    }
    const inUse = new Set([...this.held.values()].flatMap((h) => h.shards.map((p) => p.x)));
    this.drop(old.filter((k) => !inUse.has(k)));
  }

  async saveState(): Promise<OracleState> {
    const hasQ = this.warm.map((s) => s.q !== null);
    const x = await this.gather(this.warm.map((s) => s.x));
    const q = hasQ.some(Boolean) ? this.assemble(await Promise.all(this.warm.map((sw) => (sw.q ? this.transport.store.get(sw.q) : null)))) : null;
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
    if (!st.shards || st.shards.length !== this.parts.length) {
      throw new BilevelError(`the checkpoint has ${st.shards?.length ?? 0} shard states, this oracle ${this.parts.length} shards`, 'resume with the --shards of the run (run.json)');
    }
    const call = this.nextCall();
    const old = this.warm.flatMap((sw) => [sw.x, ...(sw.q ? [sw.q] : [])]);
    for (const [s, p] of this.parts.entries()) {
      const shard = st.shards[s];
      const sw = this.warm[s];
      sw.x = await this.store(this.keys.x(call, p.shard), gatherRows(st.x, p.positions, this.pixels));
      sw.q = shard.extra?.hasQ && st.q ? await this.store(this.keys.q(call, p.shard), gatherRows(st.q, p.positions, this.pixels)) : null;
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

  /** Deletes this oracle's keys from the store; the full oracle (not a subset) also ends its subsets and the transport. */
  async dispose(): Promise<void> {
    if (!this.parent) for (const sub of this.subsets) await sub.dispose();
    this.subsets.clear();
    await this.transport.store.delete([...this.live]).catch(() => {});
    this.live.clear();
    this.held.clear();
    if (!this.parent) await this.transport.close();
  }
}
