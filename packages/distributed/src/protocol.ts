import { z, type LipschitzState, type LowerSolveSummary } from '@bilevel/core';
import type { ShardHypergradient } from '@bilevel/oracles';
import type { CodeIdentity } from './version.js';

/** The one BullMQ queue of bilevel: shard jobs of distributed oracles (name "shard") and sweep jobs (name "sweep"). */
export const QUEUE = 'bilevel';
/** Shard jobs go before sweep jobs (a coordinator waits on them). */
export const SHARD_PRIORITY = 1;
export const SWEEP_PRIORITY = 10;

/** What every shard job of a run reads, written once by the coordinator under `<run>:setup`. */
export interface RunSetup {
  /** The coordinator's code (workers with other code refuse the run: their numbers would differ). */
  code: CodeIdentity;
  /** The experiment config (plugin names and options; never code). */
  config: unknown;
  backend: string;
  /** n and the shards' [start, end) ranges into the n training images. */
  size: number;
  ranges: [number, number][];
  /** Shapes of one shard's clean images and measurements (first axis: its image count). */
  cleanShape: number[][];
  measurementShape: number[][];
}

/** Keys of a run (prefix `bilevel:<run>`). */
export const runKeys = (run: string) => ({
  setup: `bilevel:${run}:setup`,
  clean: (s: number) => `bilevel:${run}:clean:${s}`,
  measurement: (s: number) => `bilevel:${run}:y:${s}`,
  x: (call: number, s: number) => `bilevel:${run}:x:${call}:${s}`,
  q: (call: number, s: number) => `bilevel:${run}:q:${call}:${s}`,
});

const finite = z.number().finite();
const key = z.string().min(1).max(200);
const summary = z.strictObject({
  iterations: z.number().nonnegative(), gradNorm: z.number(), certifiedError: z.number(), stop: z.enum(['certified', 'iteration-cap', 'float32-floor']),
});
const lipschitz = z.strictObject({
  jacobianNorm: finite, lipschitzJ: finite, lipschitzHessian: finite, seed: z.number().int().optional(), direction: z.array(finite).optional(),
  directionMoved: finite.optional(), probedAt: z.array(finite).optional(),
});
const base = {
  run: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/), shard: z.number().int().nonnegative(),
  /** A minibatch: the shard's images `indices` (0-based within it), g normalised by `count` images (the batch size). */
  subset: z.strictObject({ indices: z.array(z.number().int().nonnegative()).min(1), count: z.number().int().positive() }).optional(),
};

/** A shard job: one oracle operation on one shard, a pure function of its inputs (keys are never rewritten). */
export const SHARD_JOB_SCHEMA = z.discriminatedUnion('op', [
  z.strictObject({ ...base, op: z.literal('init'), out: key }),
  z.strictObject({ ...base, op: z.literal('evaluate'), theta: z.array(finite), eps: finite, x: key, out: key }),
  z.strictObject({
    ...base, op: z.literal('hypergradient'), theta: z.array(finite), eps: finite, delta: finite, x: key, q: key.nullable(),
    qImages: z.array(z.number()).optional(), lipschitz, evaluation: z.strictObject({ value: finite, upperGradNorm: finite, lower: summary }),
    options: z.strictObject({ valueEstimate: z.boolean(), errorBound: z.boolean() }), out: key,
  }),
  z.strictObject({ ...base, op: z.literal('floor'), theta: z.array(finite), x: key }),
]);
export type ShardJob = z.infer<typeof SHARD_JOB_SCHEMA>;

/** A shard's own evaluation numbers (what its hypergradient job needs back). */
export interface ShardEvaluationNumbers {
  value: number;
  upperGradNorm: number;
  lower: LowerSolveSummary;
}

/** What a shard operation returns; `seconds`: the worker's time in the oracle operation itself. */
export type ShardOutcome = { seconds: number } & (
  | { op: 'init'; x: string }
  | ({ op: 'evaluate'; x: string } & ShardEvaluationNumbers)
  | ({ op: 'hypergradient'; q: string; lipschitz: LipschitzState; qImages?: number[] } & ShardHypergradient)
  | { op: 'floor'; floor: number }
);

/** A shard job's answer: its outcome, the whole job's time on the worker (with the arrays in and out), and the worker. */
export type ShardJobResult = ShardOutcome & { jobSeconds: number; worker: string };
