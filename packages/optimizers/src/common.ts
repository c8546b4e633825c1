import { BilevelError, machineEpsilon, z, type BatchCostScaling, type LowerEvaluation, type Oracle } from '@bilevel/core';

/** What to do when a schedule asks for an accuracy below the float32 floor. */
export const FLOOR_POLICIES = ['clamp', 'stop'] as const;
export type FloorPolicy = (typeof FLOOR_POLICIES)[number];

/** The smallest CG residual worth asking for (as MAID): 4u‖∇g‖ L/μ, u the backend's unit round-off. */
export function deltaFloor(oracle: Pick<Oracle, 'curvature'>, theta: Float64Array, upperGradNorm: number): number {
  const { mu, L } = oracle.curvature(theta);
  return 4 * machineEpsilon() * upperGradNorm * (L / mu);
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

export function norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return Math.sqrt(s);
}

/** ‖a − b‖ (Euclidean distance of two parameter vectors). */
export function distance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s);
}

/** An optimizer state says the oracle holds its accepted evaluation, but the oracle has none (a state from another run). */
export class MissingEvaluationError extends BilevelError {
  constructor(optimizer: string) {
    super(`${optimizer}: the state expects the oracle's accepted evaluation, but the oracle has none`,
      'resume with runOptimizer({ resume }) so the checkpoint restores the oracle state together with the optimizer state');
  }
}

/** The oracle's accepted evaluation, which a state that says `evaluated` relies on. */
export function acceptedEvaluation(oracle: Oracle, optimizer: string): LowerEvaluation {
  const ev = oracle.accepted();
  if (!ev) throw new MissingEvaluationError(optimizer);
  return ev;
}

/** Decay shapes shared by the step and accuracy schedules: x_k = x₀ · s(k), k = 0, 1, … */
export const DECAY_KINDS = ['constant', 'poly', 'log'] as const;
export type DecayKind = (typeof DECAY_KINDS)[number];

/** s(k) = 1 (constant), (k+1)^(−power) (poly), 1/log₂(k+2) (log). */
export function decay(kind: DecayKind, k: number, power: number): number {
  switch (kind) {
    case 'constant': return 1;
    case 'poly': return (k + 1) ** -power;
    case 'log': return 1 / Math.log2(k + 2);
  }
}

/** An option in (0, 1): > 0 and ≤ 0.999999. */
export const fraction = (): z.ZodNumber => z.number().gt(0).max(0.999999);
/** An option > 0. */
export const positive = (): z.ZodNumber => z.number().gt(0);
/** An option ≥ 0. */
export const nonNegative = (): z.ZodNumber => z.number().min(0);

/** Runs a schema's cross-field checks only once every field is valid (unknown keys aside), as one problem at a time. */
export const whenFieldsValid: z.core.$ZodSuperRefineParams = {
  when: (payload) => payload.issues.every((issue) => issue.code === 'unrecognized_keys'),
};

/** The work accountings of a minibatch iteration. */
const COST_SCALINGS = ['per-image', 'raw'] as const satisfies readonly BatchCostScaling[];

/**
 * The minibatch options ISGD, Adam and stochastic MAID share (BatchOptions); `seed` defaults to the experiment seed
 * (set in create from the plugin context, see withSeed).
 */
export const batchShape = {
  batchSize: z.number().int().min(1).default(4).describe('images per minibatch'),
  maxEpochs: z.number().int().min(0).default(0).describe('stop after this many epochs (0: no limit)'),
  shuffle: z.number().int().min(0).max(1).default(1).describe('1 = reshuffle every epoch (seeded), 0 = fixed order'),
  seed: z.number().int().optional().describe('minibatch order seed (default: the experiment seed)'),
  costScaling: z.enum(COST_SCALINGS).default('per-image').describe('work accounting: per-image (a batch iteration counts |B|/n) | raw'),
};

/** Parsed options with `seed` given, or else the experiment seed. */
export function withSeed<T extends { seed?: number }>(o: T, experimentSeed: number): T & { seed: number } {
  return { ...o, seed: o.seed ?? experimentSeed };
}
