import { BilevelError, Rng, type BatchCostScaling, type Oracle, type Stop } from '@bilevel/core';

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
    if (!Number.isInteger(n) || n < 1) throw new BilevelError(`MinibatchSampler: n must be a positive integer, got ${n}`, 'give the number of training images');
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new BilevelError(`MinibatchSampler: batchSize must be a positive integer, got ${batchSize}`, 'set batchSize ≥ 1');
    this.order = this.permutation(0);
  }

  /** A sampler positioned at `s`. */
  static from(s: MinibatchSamplerState): MinibatchSampler {
    const sampler = new MinibatchSampler(s.n, s.batchSize, s.seed, s.shuffle);
    sampler.restore(s);
    return sampler;
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
      throw new BilevelError('MinibatchSampler.restore: the state belongs to a sampler with other n / batchSize / seed / shuffle',
        'resume with the options (batchSize, seed, shuffle) and training set of the checkpointed run');
    }
    this.epoch = s.epoch;
    this.position = s.position;
    this.order = this.permutation(this.epoch);
  }
}

/** The minibatch options the stochastic methods share. */
export interface BatchOptions {
  batchSize: number;
  maxEpochs: number;
  /** 1 = shuffle every epoch (seeded), 0 = fixed order. */
  shuffle: number;
  seed: number;
  costScaling: BatchCostScaling;
}

/** The sampler state at the start of a run over `oracle`'s images. */
export function initialSampler(oracle: Oracle, o: BatchOptions): MinibatchSamplerState {
  return new MinibatchSampler(oracle.size, o.batchSize, o.seed, o.shuffle === 1).state;
}

/** 'max-iterations' once `maxEpochs` epochs are complete (0: no limit). */
export function epochLimit(s: MinibatchSamplerState, maxEpochs: number): Stop | undefined {
  const epochsDone = s.epoch + (s.position >= s.n ? 1 : 0);
  return maxEpochs > 0 && epochsDone >= maxEpochs ? { reason: 'max-iterations', message: `completed ${maxEpochs} epochs` } : undefined;
}

/** The next minibatch after `s`, and the sampler state after it. */
export function nextBatch(s: MinibatchSamplerState): { batch: Minibatch; sampler: MinibatchSamplerState; batchesPerEpoch: number } {
  const sampler = MinibatchSampler.from(s);
  const batch = sampler.next();
  return { batch, sampler: sampler.state, batchesPerEpoch: sampler.batchesPerEpoch };
}

/**
 * Runs `work` on an oracle over the images of `batch` (warm-started from `oracle`), then merges it back: its warm starts
 * and constants are kept unless `work` says `keep: false`; its work is added to `oracle`'s counters either way.
 */
export async function onBatch<T>(oracle: Oracle, batch: Minibatch, costScaling: BatchCostScaling, work: (sub: Oracle) => Promise<{ value: T; keep: boolean }>): Promise<T> {
  const sub = await oracle.subset(batch.indices);
  let keep = false;
  try {
    const r = await work(sub);
    keep = r.keep;
    return r.value;
  } finally {
    await oracle.merge(sub, { keep, costScaling });
  }
}

/** Row fields of a minibatch iteration: its epoch (1-based), size, and the unscaled work where the oracle counts it. */
export function batchFields(oracle: Oracle, batch: Minibatch): { epoch: number; batchSize: number; rawLowerIterations?: number; rawCgIterations?: number } {
  const raw = (oracle as { rawCounters?: { lowerIterations: number; cgIterations: number } }).rawCounters;
  const fields = { epoch: batch.epoch + 1, batchSize: batch.indices.length };
  return raw ? { ...fields, rawLowerIterations: raw.lowerIterations, rawCgIterations: raw.cgIterations } : fields;
}
