import { LowerLevelProblem } from '../problem.js';
import { Rng } from '../random.js';
import { tf, type ImageBatch, type Tensor } from '../tensor.js';
import { HypergradientOracle, type OracleCounters, type OracleState } from './oracle.js';

/** Serializable sampler position (the permutation of an epoch is a function of seed and epoch). */
export interface MinibatchSamplerState {
  n: number;
  batchSize: number;
  seed: number;
  shuffle: boolean;
  epoch: number;
  position: number;
}

/** One minibatch: image indices into the full training set, and where it sits in the epoch. */
export interface Minibatch {
  readonly indices: number[];
  readonly epoch: number;
  /** 0-based index of the batch within its epoch. */
  readonly batch: number;
  /** True for the last batch of an epoch. */
  readonly epochEnd: boolean;
}

/**
 * Seeded minibatches over n images: each epoch visits every image once, in a permutation drawn from
 * (seed, epoch); the last batch of an epoch is smaller when batchSize does not divide n.
 */
export class MinibatchSampler {
  private epoch = 0;
  private position = 0;
  private order: number[];

  constructor(readonly n: number, readonly batchSize: number, readonly seed = 0, readonly shuffle = true) {
    if (!Number.isInteger(n) || n < 1) throw new Error(`MinibatchSampler: n must be a positive integer, got ${n}`);
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`MinibatchSampler: batchSize must be a positive integer, got ${batchSize}`);
    this.order = this.permutation(0);
  }

  get batchesPerEpoch(): number {
    return Math.ceil(this.n / Math.min(this.batchSize, this.n));
  }

  /** The visiting order of `epoch` (identity when shuffle is off). */
  permutation(epoch: number): number[] {
    const order = Array.from({ length: this.n }, (_, i) => i);
    if (!this.shuffle) return order;
    const rng = new Rng(this.seed * 1000003 + epoch * 7919 + 1);
    const rand = () => rng.uniform();
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    return order;
  }

  next(): Minibatch {
    if (this.position >= this.n) {
      this.epoch++;
      this.position = 0;
      this.order = this.permutation(this.epoch);
    }
    const size = Math.min(this.batchSize, this.n);
    const indices = this.order.slice(this.position, this.position + size);
    const batch = Math.floor(this.position / size);
    this.position += indices.length;
    return { indices, epoch: this.epoch, batch, epochEnd: this.position >= this.n };
  }

  get state(): MinibatchSamplerState {
    return { n: this.n, batchSize: this.batchSize, seed: this.seed, shuffle: this.shuffle, epoch: this.epoch, position: this.position };
  }

  restore(s: MinibatchSamplerState): void {
    if (s.n !== this.n || s.batchSize !== this.batchSize || s.seed !== this.seed || s.shuffle !== this.shuffle) {
      throw new Error('MinibatchSampler.restore: the state belongs to a sampler with other n / batchSize / seed / shuffle');
    }
    this.epoch = s.epoch;
    this.position = s.position;
    this.order = this.permutation(this.epoch);
  }
}

/** How work on a batch is added to the full oracle's counters. */
export type BatchCostScaling = 'per-image' | 'raw';

/** An oracle over a subset of the training images, opened by `BatchedOracle.open`. */
export interface BatchHandle {
  readonly oracle: HypergradientOracle;
  readonly indices: readonly number[];
}

/**
 * Minibatch views of a full-training-set HypergradientOracle. `open(indices)` returns an oracle over those
 * images whose warm starts (x and the CG solution q) and Lipschitz estimates come from the full oracle;
 * `commit(handle)` scatters the batch's warm starts back into the full oracle (so per-image warm starts persist
 * across batches and epochs), carries the running constant estimates, and adds the batch's work to the full
 * oracle's counters — scaled by |B|/n by default ('per-image': counters then count full-training-set-equivalent
 * iterations, comparable with full-batch methods), or unscaled ('raw').
 */
export class BatchedOracle {
  /** Unscaled totals of lower-level and CG iterations spent on batches. */
  readonly rawCounters = { lowerIterations: 0, cgIterations: 0 };
  private readonly pixels: number;
  private readonly hasQ: boolean[];
  private readonly open_ = new Map<HypergradientOracle, Tensor[]>();

  constructor(readonly full: HypergradientOracle, readonly costScaling: BatchCostScaling = 'per-image', private readonly seed = 0) {
    const [, h, w, c] = full.problem.imageShape;
    this.pixels = h * w * c;
    this.hasQ = new Array<boolean>(this.size).fill(full.saveState().q !== null);
  }

  /** Number of training images. */
  get size(): number {
    return this.full.problem.batchSize;
  }

  /** An oracle over the images `indices` (0-based into the training set), warm-started from the full oracle. */
  open(indices: readonly number[]): BatchHandle {
    if (indices.length === 0) throw new Error('BatchedOracle.open: empty batch');
    for (const i of indices) if (!Number.isInteger(i) || i < 0 || i >= this.size) throw new Error(`BatchedOracle.open: index ${i} out of range [0, ${this.size})`);
    const full = this.full.saveState();
    const P = this.pixels;
    const gather = (src: Float32Array) => {
      const out = new Float32Array(indices.length * P);
      indices.forEach((i, k) => out.set(src.subarray(i * P, (i + 1) * P), k * P));
      return out;
    };
    const idx = tf.tensor1d(Int32Array.from(indices), 'int32');
    const measurement = tf.gather(this.full.problem.measurement, idx);
    const targets = tf.gather(this.full.upper.targets, idx) as ImageBatch;
    idx.dispose();
    const p = this.full.problem;
    const problem = new LowerLevelProblem(p.operator, p.fidelity, p.regularizer, measurement, p.gamma);
    const oracle = new HypergradientOracle(problem, targets, this.full.lowerSolver, this.full.linearSolver, undefined, this.seed);
    const withQ = full.q !== null && indices.every((i) => this.hasQ[i]);
    const state: OracleState = {
      x: gather(full.x),
      q: withQ ? gather(full.q!) : null,
      counters: { lowerIterations: 0, cgIterations: 0, lowerSeconds: 0, cgSeconds: 0, probeWork: 0 },
      lipschitz: full.lipschitz,
    };
    oracle.restoreState(state);
    this.open_.set(oracle, [measurement, targets]);
    return { oracle, indices: [...indices] };
  }

  /** Writes the batch's warm starts, constants and work back into the full oracle, then frees the batch oracle. */
  commit(handle: BatchHandle): void {
    const b = handle.oracle.saveState();
    const full = this.full.saveState();
    const P = this.pixels;
    handle.indices.forEach((i, k) => full.x.set(b.x.subarray(k * P, (k + 1) * P), i * P));
    if (b.q) {
      full.q ??= new Float32Array(full.x.length);
      handle.indices.forEach((i, k) => {
        full.q!.set(b.q!.subarray(k * P, (k + 1) * P), i * P);
        this.hasQ[i] = true;
      });
    }
    const scale = this.costScaling === 'per-image' ? handle.indices.length / this.size : 1;
    this.rawCounters.lowerIterations += b.counters.lowerIterations;
    this.rawCounters.cgIterations += b.counters.cgIterations;
    const c: OracleCounters = full.counters;
    c.lowerIterations += scale * b.counters.lowerIterations;
    c.cgIterations += scale * b.counters.cgIterations;
    c.lowerSeconds += b.counters.lowerSeconds;
    c.cgSeconds += b.counters.cgSeconds;
    c.probeWork += scale * b.counters.probeWork;
    full.lipschitz = b.lipschitz;
    this.full.restoreState(full);
    this.close(handle);
  }

  /** Frees a batch oracle without writing anything back (its work is still counted). */
  discard(handle: BatchHandle): void {
    const c = handle.oracle.counters;
    const scale = this.costScaling === 'per-image' ? handle.indices.length / this.size : 1;
    this.rawCounters.lowerIterations += c.lowerIterations;
    this.rawCounters.cgIterations += c.cgIterations;
    this.full.counters.lowerIterations += scale * c.lowerIterations;
    this.full.counters.cgIterations += scale * c.cgIterations;
    this.full.counters.lowerSeconds += c.lowerSeconds;
    this.full.counters.cgSeconds += c.cgSeconds;
    this.close(handle);
  }

  private close(handle: BatchHandle): void {
    handle.oracle.dispose();
    tf.dispose(this.open_.get(handle.oracle) ?? []);
    this.open_.delete(handle.oracle);
  }
}
