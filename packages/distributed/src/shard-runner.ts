import { BilevelError, readTensors, tf, TOKENS, useBackend, type ImageBatch, type LowerEvaluation, type OracleState, type PluginRegistry, type Tensor } from '@bilevel/core';
import { buildExperiment, problemParts, type ImagePairs } from '@bilevel/experiment';
import { buildShardOracles, shardHypergradientOf, zeroCounters, type HypergradientOracle, type ShardOracle } from '@bilevel/oracles';
import { runKeys, type RunSetup, type ShardJob, type ShardJobResult, type ShardOutcome } from './protocol.js';
import { checkPlugins } from './plugins.js';
import { checkSameCode } from './version.js';
import type { ArrayStore } from './store.js';

/** Frees a shard oracle with the data slices it was built on. */
async function release(o: HypergradientOracle): Promise<void> {
  await o.dispose();
  tf.dispose([o.upper.targets, o.problem.measurement]);
}

/** Shard oracles kept per worker thread (the least recently used is dropped beyond this). */
const CACHED_SHARDS = 16;

/**
 * Runs shard jobs (the worker side of DistributedOracle). Each job restores the shard oracle from the arrays its keys
 * name, does one operation, and writes what changed under the job's new key: so any worker, or a retry after a
 * worker died, computes the same numbers. The shard oracles themselves (data, plugins) are built once per run and shard.
 */
export class ShardRunner {
  private readonly oracles = new Map<string, Promise<HypergradientOracle>>();

  constructor(
    private readonly store: ArrayStore,
    private readonly registry: PluginRegistry,
    private readonly plugins: readonly string[] = [],
    /** The worker's name in results. */
    private readonly name = 'in-process',
  ) {}

  async run(job: ShardJob): Promise<ShardJobResult> {
    const t0 = performance.now();
    const r = await this.operate(job);
    return { ...r, jobSeconds: (performance.now() - t0) / 1000, worker: this.name };
  }

  /** The job's operation on the shard's oracle, or on a subset of it made for the job (and freed after it). */
  private async operate(job: ShardJob): Promise<ShardOutcome> {
    const shard = await this.oracle(job.run, job.shard);
    if (!job.subset) return this.operateOn(shard, job);
    const sub = (await shard.subset(job.subset.indices, { count: job.subset.count })) as ShardOracle;
    try {
      return await this.operateOn(sub, job);
    } finally {
      await shard.merge(sub, { keep: false, costScaling: 'per-image' });
    }
  }

  private async operateOn(oracle: ShardOracle, job: ShardJob): Promise<ShardOutcome> {
    let seconds = 0;
    /** Times the oracle operation itself. */
    const timed = async <T>(f: () => Promise<T>): Promise<T> => {
      const t0 = performance.now();
      try {
        return await f();
      } finally {
        seconds += (performance.now() - t0) / 1000;
      }
    };
    switch (job.op) {
      case 'init': {
        const { x } = await oracle.saveState();
        await this.store.put(job.out, x);
        return { op: 'init', x: job.out, seconds };
      }
      case 'evaluate': {
        await this.restore(oracle, await this.store.get(job.x));
        const ev = await timed(() => oracle.evaluate(Float64Array.from(job.theta), job.eps));
        await this.store.put(job.out, await this.imagesOf(oracle, ev));
        oracle.release(ev);
        return { op: 'evaluate', x: job.out, value: ev.value, upperGradNorm: ev.upperGradNorm, lower: ev.lower, seconds };
      }
      case 'hypergradient': {
        const [x, q] = await Promise.all([this.store.get(job.x), job.q ? this.store.get(job.q) : null]);
        await this.restore(oracle, x, {
          q, lipschitz: job.lipschitz, extra: job.qImages ? { qImages: job.qImages } : {},
          accepted: { theta: job.theta, ...job.evaluation, lower: { ...job.evaluation.lower } },
        });
        const hg = await timed(() => oracle.hypergradient(Float64Array.from(job.theta), job.eps, job.delta, oracle.accepted(), job.options));
        const after = await oracle.saveState();
        await this.store.put(job.out, after.q!);
        const qImages = Array.isArray(after.extra?.qImages) ? (after.extra.qImages as number[]) : undefined;
        return { op: 'hypergradient', ...shardHypergradientOf(hg), q: job.out, lipschitz: after.lipschitz, qImages, seconds };
      }
      case 'floor': {
        await this.restore(oracle, await this.store.get(job.x));
        const floor = await timed(() => oracle.accuracyFloor(Float64Array.from(job.theta)));
        return { op: 'floor', floor, seconds };
      }
    }
  }

  /** Frees the cached shard oracles. */
  async dispose(): Promise<void> {
    const all = [...this.oracles.values()];
    this.oracles.clear();
    for (const o of all) await o.then(release, () => {});
  }

  /** Sets the shard oracle's warm start x (and the rest of `s`; the counters restart, the coordinator keeps them). */
  private async restore(oracle: ShardOracle, x: Float32Array, s: Partial<OracleState> = {}): Promise<void> {
    await oracle.restoreState({ q: null, lipschitz: { jacobianNorm: 0, lipschitzJ: 0, lipschitzHessian: 0 }, ...s, x, counters: zeroCounters() });
  }

  /** A copy of ev's x̃ (through the project's read helper, as the worker-threads oracle reads it). */
  private async imagesOf(oracle: ShardOracle, ev: LowerEvaluation): Promise<Float32Array> {
    const [v] = await readTensors(await oracle.reconstruction(ev));
    return v.slice();
  }

  /** The run's shard oracle, built on first use from the setup and the shard's images in the store. */
  private oracle(run: string, shard: number): Promise<HypergradientOracle> {
    const id = `${run}:${shard}`;
    let o = this.oracles.get(id);
    if (o) {
      // Most recently used last.
      this.oracles.delete(id);
      this.oracles.set(id, o);
      return o;
    }
    o = this.build(run, shard);
    o.catch(() => this.oracles.delete(id));
    this.oracles.set(id, o);
    if (this.oracles.size > CACHED_SHARDS) {
      const [oldest, dropped] = this.oracles.entries().next().value as [string, Promise<HypergradientOracle>];
      this.oracles.delete(oldest);
      void dropped.then(release, () => {});
    }
    return o;
  }

  private async build(run: string, shard: number): Promise<HypergradientOracle> {
    const keys = runKeys(run);
    const setup = await this.store.getJson<RunSetup>(keys.setup);
    if (!setup.ranges[shard]) throw new BilevelError(`run ${run} has no shard ${shard}`, 'the job is malformed: its coordinator sent a shard number outside its shards');
    checkSameCode(setup.code);
    checkPlugins(setup.config, this.plugins);
    await useBackend(setup.backend);
    const [cleanValues, measurementValues] = await Promise.all([this.store.get(keys.clean(shard)), this.store.get(keys.measurement(shard))]);
    const clean = tf.tensor4d(cleanValues, setup.cleanShape[shard] as [number, number, number, number]) as ImageBatch;
    const measurement: Tensor = tf.tensor(measurementValues, setup.measurementShape[shard]);
    const experiment = await buildExperiment(setup.config, { registry: this.registry, clean: { train: clean } });
    const pairs: ImagePairs = { clean, measurement };
    experiment.container.rebind(TOKENS.train).toConstantValue(pairs);
    const parts = await problemParts(experiment.container, experiment.config);
    const [a, b] = setup.ranges[shard];
    const [oracle] = buildShardOracles({ ...parts, measurement, clean, seed: experiment.config.seed }, { init: null, ranges: [[0, b - a]], shardIds: [shard], size: setup.size });
    tf.dispose([clean, measurement]);
    return oracle;
  }
}
