import { cpus } from 'node:os';
import {
  tf,
  type BatchCostScaling, type Curvature, type HypergradientOptions, type HypergradientResult, type ImageBatch, type LowerEvaluation,
  type Oracle, type OracleCounters, type OracleState, type ShardState,
} from '@bilevel/core';
import { checkIndices, UnknownEvaluationError, UnknownSubsetError, zeroCounters } from '../common.js';
import { WorkerPool, type WorkerInit } from './pool.js';
import { reduceEvaluations, reduceHypergradients } from './reduce.js';
import { addSubsetWork, splitBatch } from './split.js';
import { assignShards, shardRanges, transferables, type ShardEvaluation, type ShardHypergradient, type ShardSnapshot, type WorkerRequest } from './shards.js';

export interface ShardedOracleOptions<I = unknown> {
  /** Module specifier or file URL of the factory module the workers import (see ShardFactory). */
  factory: string | URL;
  /** Serialisable data the factory builds the shards' oracles from (structured-cloned to every worker). */
  init: I;
  /** Number of training images n. */
  size: number;
  /** [h, w] of the images. */
  imageShape: readonly [number, number];
  /** μ and L of h(·, θ) over all images (the main thread's problem.curvature): CPU numbers. */
  curvature: (theta: Float32Array) => Curvature;
  workers: number;
  /** Fixed number of image shards (default: CPU cores); results depend on it, not on `workers`. */
  shards?: number;
  /** Tensor backend of the workers. */
  backend?: string;
}

/** One shard's part of an oracle's images: its global number, position in the worker, and the images' positions here. */
interface Part {
  readonly shard: number;
  readonly worker: number;
  readonly local: number;
  readonly positions: readonly number[];
}

/**
 * The hypergradient oracle over worker threads: the training images are cut into a fixed number of contiguous
 * shards, each an oracle inside a worker (built there by the factory module, with its own tfjs backend). A stacked
 * accuracy ε is split as ε_s = ε √(n_s/n) (so Σ ε_s² = ε²); θ is broadcast; values, hypergradients and certificates
 * are reduced on the main thread in shard order. Since the shards do not depend on the worker count, neither do the
 * results. A subset (minibatch) is split by the same shards: each shard takes a subset of its images of the batch.
 */
export class ShardedOracle implements Oracle {
  readonly counters: OracleCounters = zeroCounters();
  /** Unscaled lower-level and CG iterations of merged subsets (`counters` holds their share under 'per-image'). */
  readonly rawCounters = { lowerIterations: 0, cgIterations: 0 };
  private readonly held = new Set<number>();
  private acceptedEvaluation: LowerEvaluation | undefined;
  private jacobianNorm = 0;
  private readonly subsets = new Set<ShardedOracle>();

  private constructor(
    private readonly pool: WorkerPool,
    /** The oracle set in the workers: 0 for the shards' own oracles, a subset's id otherwise. */
    private readonly on: number,
    private readonly parts: readonly Part[],
    readonly size: number,
    private readonly imageShape: readonly [number, number],
    private readonly curvatureOf: (theta: Float32Array) => Curvature,
  ) {}

  /** Starts the workers (each builds its shards' oracles through the factory module) and waits until they are ready. */
  static async create<I>(o: ShardedOracleOptions<I>): Promise<ShardedOracle> {
    const ranges = shardRanges(o.size, o.shards ?? cpus().length);
    const assignment = assignShards(ranges.length, o.workers);
    const factory = o.factory instanceof URL ? o.factory.href : o.factory;
    const inits: WorkerInit[] = assignment.map((ids) => ({ factory, init: o.init, backend: o.backend, ranges: ids.map((s) => ranges[s]), shardIds: ids, size: o.size }));
    const pool = await WorkerPool.start(inits);
    const parts: Part[] = ranges.map(([a, b], shard) => {
      const worker = assignment.findIndex((ids) => ids.includes(shard));
      return { shard, worker, local: assignment[worker].indexOf(shard), positions: Array.from({ length: b - a }, (_, i) => a + i) };
    });
    return new ShardedOracle(pool, 0, parts, o.size, o.imageShape, o.curvature);
  }

  /** Unknowns per image. */
  get pixels(): number {
    return this.imageShape[0] * this.imageShape[1];
  }

  get upperLipschitz(): number {
    return 1 / this.size;
  }

  /** √(n_s/n) of part s. */
  private share(s: number): number {
    return Math.sqrt(this.parts[s].positions.length / this.size);
  }

  /**
   * Sends one request per worker that holds parts of this oracle (built from the indices into `parts` it holds, in
   * shard order), waits for all, and returns the per-part results in shard order.
   */
  private async call<T>(make: (parts: number[]) => Record<string, unknown> & { op: WorkerRequest['op'] }): Promise<T[]> {
    const byWorker = new Map<number, number[]>();
    this.parts.forEach((p, s) => byWorker.set(p.worker, [...(byWorker.get(p.worker) ?? []), s]));
    const out: T[] = new Array(this.parts.length);
    await Promise.all([...byWorker].map(async ([w, ss]) => {
      const request = { ...make(ss), on: this.on, shards: ss.map((s) => this.parts[s].local) } as WorkerRequest;
      // Float arrays in requests are fresh copies: transferred, not cloned.
      const r = await this.pool.call<T[] | null>(w, request, transferables(request));
      if (r) ss.forEach((s, k) => (out[s] = r[k]));
    }));
    return out;
  }

  /** Sends a request to every worker of this oracle without awaiting the answers. */
  private post(request: Record<string, unknown> & { op: 'release' }): void {
    const workers = new Map<number, number[]>();
    for (const p of this.parts) workers.set(p.worker, [...(workers.get(p.worker) ?? []), p.local]);
    for (const [w, shards] of workers) this.pool.post(w, { ...request, on: this.on, shards } as WorkerRequest);
  }

  curvature(theta: Float64Array): Curvature {
    return this.curvatureOf(Float32Array.from(theta));
  }

  async accuracyFloor(theta: Float64Array): Promise<number> {
    const floors = await this.call<number>(() => ({ op: 'floor', theta: Array.from(theta) }));
    return Math.max(...floors.map((f, s) => f / this.share(s)));
  }

  private checkHeld(ev: LowerEvaluation): number {
    if (!this.held.has(ev.id) && ev.id !== this.acceptedEvaluation?.id) throw new UnknownEvaluationError(ev.id, 'ShardedOracle');
    return ev.id;
  }

  async evaluate(theta: Float64Array, epsilon: number, from?: LowerEvaluation): Promise<LowerEvaluation> {
    const t0 = performance.now();
    const start = from && this.checkHeld(from);
    const id = this.pool.nextId();
    const parts = await this.call<ShardEvaluation>((ss) => ({ op: 'evaluate', id, theta: Array.from(theta), eps: ss.map((s) => epsilon * this.share(s)), from: start }));
    this.held.add(id);
    const ev = reduceEvaluations(parts, this.parts.map((_, s) => this.share(s)), id, theta);
    this.counters.lowerIterations += ev.lower.iterations;
    this.counters.lowerSeconds += (performance.now() - t0) / 1000;
    return ev;
  }

  async accept(ev: LowerEvaluation): Promise<void> {
    const id = this.checkHeld(ev);
    await this.call(() => ({ op: 'accept', id }));
    this.acceptedEvaluation = ev;
  }

  accepted(): LowerEvaluation | undefined {
    return this.acceptedEvaluation;
  }

  release(ev: LowerEvaluation): void {
    if (!this.held.delete(ev.id)) return;
    this.post({ op: 'release', id: ev.id });
  }

  async hypergradient(theta: Float64Array, epsilon: number, delta: number, evaluation?: LowerEvaluation, options: HypergradientOptions = {}): Promise<HypergradientResult> {
    const ev = evaluation ?? (await this.evaluate(theta, epsilon));
    const id = this.checkHeld(ev);
    const { mu } = this.curvature(theta);
    const t0 = performance.now();
    const withBound = options.errorBound ?? true;
    const valueEstimate = options.valueEstimate ?? false;
    const parts = await this.call<ShardHypergradient>((ss) => ({
      op: 'hypergradient', id, theta: Array.from(theta), eps: ss.map((s) => epsilon * this.share(s)), delta: ss.map((s) => delta * this.share(s)),
      options: { valueEstimate, errorBound: withBound },
    }));
    const result = reduceHypergradients(parts, this.parts.map((_, s) => this.share(s)), {
      evaluation: ev, epsilon, mu, upperLipschitz: this.upperLipschitz, jacobianNorm: this.jacobianNorm, withBound, valueEstimate, seconds: (performance.now() - t0) / 1000,
    }, this.counters);
    this.jacobianNorm = result.stats.jacobianNorm;
    return result;
  }

  /** Per-part images into one array in this oracle's image order. */
  private assemble(images: Float32Array[]): Float32Array {
    const [h, w] = this.imageShape;
    const P = h * w;
    const all = new Float32Array(this.size * P);
    images.forEach((v, s) => this.parts[s].positions.forEach((i, k) => all.set(v.subarray(k * P, (k + 1) * P), i * P)));
    return all;
  }

  /** The rows of `all` (this oracle's image order) that part s holds, as one array. */
  private slicePart(all: Float32Array, s: number): Float32Array {
    const [h, w] = this.imageShape;
    const P = h * w;
    const pos = this.parts[s].positions;
    const out = new Float32Array(pos.length * P);
    pos.forEach((i, k) => out.set(all.subarray(i * P, (i + 1) * P), k * P));
    return out;
  }

  async reconstruction(ev?: LowerEvaluation): Promise<ImageBatch> {
    const id = ev && this.checkHeld(ev);
    const images = await this.call<Float32Array>(() => ({ op: 'read', id }));
    const [h, w] = this.imageShape;
    return tf.tensor4d(this.assemble(images), [this.size, h, w, 1]);
  }

  /** An oracle over the images `indices`, split by the shards: each takes the batch's images it holds. */
  async subset(indices: readonly number[]): Promise<Oracle> {
    checkIndices(indices, this.size, 'ShardedOracle.subset');
    const { local, positions } = splitBatch(this.parts, indices);
    const kept = this.parts.map((p, s) => ({ ...p, positions: positions[s] })).filter((p) => p.positions.length > 0);
    const sub = new ShardedOracle(this.pool, this.pool.nextId(), kept, indices.length, this.imageShape, this.curvatureOf);
    sub.jacobianNorm = this.jacobianNorm;
    await this.call((ss) => ({ op: 'subset', sub: sub.on, local: ss.map((s) => local[s]), count: indices.length }));
    this.subsets.add(sub);
    return sub;
  }

  /** Ends a subset: each shard merges its part (see HypergradientOracle.merge); the work is added scaled by |B|/n or not. */
  async merge(sub: Oracle, o: { keep: boolean; costScaling: BatchCostScaling }): Promise<void> {
    if (!(sub instanceof ShardedOracle) || !this.subsets.has(sub)) throw new UnknownSubsetError('ShardedOracle');
    addSubsetWork(this, sub, this.size, o);
    await this.call(() => ({ op: 'merge', sub: sub.on, keep: o.keep, costScaling: 'per-image' }));
    sub.held.clear();
    if (o.keep) {
      this.jacobianNorm = sub.jacobianNorm;
      this.acceptedEvaluation = undefined;
    }
    this.subsets.delete(sub);
  }

  async saveState(): Promise<OracleState> {
    const snaps = await this.call<ShardSnapshot>(() => ({ op: 'save' }));
    const hasQ = snaps.map((p) => p.q !== null);
    const [h, w] = this.imageShape;
    const zeros = (s: number) => new Float32Array(this.parts[s].positions.length * h * w);
    const a = this.acceptedEvaluation;
    return {
      x: this.assemble(snaps.map((p) => p.x)),
      q: hasQ.some(Boolean) ? this.assemble(snaps.map((p, s) => p.q ?? zeros(s))) : null,
      counters: { ...this.counters },
      lipschitz: { jacobianNorm: this.jacobianNorm, lipschitzJ: 0, lipschitzHessian: 0 },
      shards: snaps.map((p, s): ShardState => ({ ...p.state, extra: { ...p.state.extra, hasQ: Number(hasQ[s]) } })),
      extra: { rawLowerIterations: this.rawCounters.lowerIterations, rawCgIterations: this.rawCounters.cgIterations },
      accepted: a && { theta: Array.from(a.theta), value: a.value, upperGradNorm: a.upperGradNorm, lower: { ...a.lower } },
    };
  }

  async restoreState(st: OracleState): Promise<void> {
    const a = st.accepted && st.shards ? st.accepted : undefined;
    const acceptedId = a ? this.pool.nextId() : undefined;
    const snapshot = (s: number): ShardSnapshot => {
      // A state without shards (another oracle's) gives every shard its counters and constants.
      const state = st.shards?.[s] ?? { counters: st.counters, lipschitz: st.lipschitz };
      const withQ = st.q !== null && (state.extra?.hasQ ?? 1) !== 0;
      return { state, x: this.slicePart(st.x, s), q: withQ ? this.slicePart(st.q!, s) : null };
    };
    await this.call((ss) => ({ op: 'restore', snapshots: ss.map(snapshot), acceptedId }));
    Object.assign(this.counters, st.counters);
    this.rawCounters.lowerIterations = typeof st.extra?.rawLowerIterations === 'number' ? st.extra.rawLowerIterations : 0;
    this.rawCounters.cgIterations = typeof st.extra?.rawCgIterations === 'number' ? st.extra.rawCgIterations : 0;
    this.jacobianNorm = st.lipschitz.jacobianNorm;
    this.acceptedEvaluation = a && acceptedId !== undefined
      ? { id: acceptedId, theta: Float64Array.from(a.theta), value: a.value, upperGradNorm: a.upperGradNorm, lower: { ...a.lower } }
      : undefined;
  }

  /** Frees the evaluations; the shards' oracles and the workers end with the full oracle (not a subset). */
  async dispose(): Promise<void> {
    for (const id of this.held) this.post({ op: 'release', id });
    this.held.clear();
    if (this.on !== 0) return;
    try {
      await this.call(() => ({ op: 'dispose' }));
    } finally {
      await this.pool.terminate();
    }
  }
}
