import {
  BilevelError, ConfigError, FLOAT32_EPS, choiceOption, numberArrayOption, numberOption, rejectUnknownOptions,
  type LowerEvaluation, type Oracle, type Options,
} from '@bilevel/core';

/** What to do when a schedule asks for an accuracy below the float32 floor. */
export type FloorPolicy = 'clamp' | 'stop';

/** The smallest CG residual worth asking for (as MAID): 4u‖∇g‖ L/μ. */
export function deltaFloor(oracle: Pick<Oracle, 'curvature'>, theta: Float64Array, upperGradNorm: number): number {
  const { mu, L } = oracle.curvature(theta);
  return 4 * FLOAT32_EPS * upperGradNorm * (L / mu);
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
export type DecayKind = 'constant' | 'poly' | 'log';
export const DECAY_KINDS: readonly DecayKind[] = ['constant', 'poly', 'log'];

/** s(k) = 1 (constant), (k+1)^(−power) (poly), 1/log₂(k+2) (log). */
export function decay(kind: DecayKind, k: number, power: number): number {
  switch (kind) {
    case 'constant': return 1;
    case 'poly': return (k + 1) ** -power;
    case 'log': return 1 / Math.log2(k + 2);
  }
}

/** Option reading with the shared validation helpers; remembers the keys it was asked about. */
export class OptionReader {
  private readonly known: string[] = [];
  constructor(private readonly opts: Options, private readonly path: string) {}

  num(key: string, fallback: number, bounds: { min?: number; max?: number; integer?: boolean; exclusiveMin?: boolean } = {}): number {
    this.known.push(key);
    return numberOption(this.opts, key, fallback, this.path, bounds);
  }
  /** A number in (0, 1). */
  fraction(key: string, fallback: number): number {
    return this.num(key, fallback, { min: 0, exclusiveMin: true, max: 0.999999 });
  }
  positive(key: string, fallback: number): number {
    return this.num(key, fallback, { min: 0, exclusiveMin: true });
  }
  choice<T extends string>(key: string, fallback: T, choices: readonly T[]): T {
    this.known.push(key);
    return choiceOption(this.opts, key, fallback, choices, this.path);
  }
  array(key: string): number[] | undefined {
    this.known.push(key);
    return numberArrayOption(this.opts, key, this.path);
  }
  /** Call last: rejects every option key that was not read. */
  done(): void {
    rejectUnknownOptions(this.opts, this.known, this.path);
  }
  fail(key: string, problem: string, fix: string): never {
    throw new ConfigError(`${this.path}.${key}`, problem, fix);
  }
}
