import {
  adjointValueBound, dot, machineEpsilon, LowerLevelProblem, maidErrorBound, MeanSquaredUpperLoss, readCount, readScalars, readTensors, readVector,
  squaredNorm, tf, VALUE_ESTIMATE_WORK,
  type BatchCostScaling, type Curvature, type HypergradientOptions, type HypergradientResult, type ImageBatch, type LinearSolver,
  type LowerEvaluation, type LowerSolver, type LowerSolveSummary, type Oracle, type OracleCounters, type OracleState, type Tensor, type Tensor1D,
  type ValueEstimate,
} from '@bilevel/core';
import { addCounters, checkIndices, UnknownEvaluationError, UnknownSubsetError, zeroCounters } from './common.js';
import { LipschitzEstimates } from './lipschitz.js';

/** A subset oracle's place in its parent: the parent's image indices, and the gathered tensors it owns. */
interface SubsetEntry {
  readonly indices: readonly number[];
  readonly owned: Tensor[];
}

/**
 * The implicit-differentiation engine (DESIGN §1): any lower-level problem, lower solver and linear solver.
 * Keeps per-image warm starts for x (the last accepted x̃) and for q (the last CG solution). Evaluations are handles;
 * their x̃ stay here, by id, until released.
 */
export class HypergradientOracle implements Oracle {
  readonly upper: MeanSquaredUpperLoss;
  /** Work totals; hostReads counts the device→host reads (readCount) of evaluate, hypergradient, accuracyFloor and merge. */
  readonly counters: OracleCounters = { ...zeroCounters(), hostReads: 0 };
  /** Unscaled lower-level and CG iterations of merged subsets (`counters` holds their share under 'per-image'). */
  readonly rawCounters = { lowerIterations: 0, cgIterations: 0 };
  private readonly estimates: LipschitzEstimates;
  private warmX: ImageBatch;
  private warmQ: ImageBatch | undefined;
  /** Per image: whether its q warm start is a CG solution (a subset is given q only if all its images have one). */
  private hasQ: boolean[];
  private readonly held = new Map<number, ImageBatch>();
  private acceptedEvaluation: LowerEvaluation | undefined;
  private nextId = 1;
  /** ‖x_accepted‖ for accuracyFloor, until the next accept, merge or restore. */
  private warmNorm: number | undefined;
  private readonly subsets = new Map<Oracle, SubsetEntry>();

  constructor(
    readonly problem: LowerLevelProblem,
    targets: ImageBatch,
    readonly lowerSolver: LowerSolver,
    readonly linearSolver: LinearSolver,
    x0?: ImageBatch,
    seed = 0,
    /** Size of the whole training set when `targets` is one shard of it (normalises g by it). */
    trainingSetSize?: number,
  ) {
    this.upper = new MeanSquaredUpperLoss(targets, trainingSetSize);
    this.warmX = tf.keep(x0 ? x0.clone() : tf.zeros(problem.imageShape));
    this.estimates = new LipschitzEstimates(seed);
    this.hasQ = new Array<boolean>(problem.batchSize).fill(false);
  }

  /** Number of training images of this oracle. */
  get size(): number {
    return this.problem.batchSize;
  }

  /** Unknowns per image. */
  get pixels(): number {
    const [, h, w, c] = this.problem.imageShape;
    return h * w * c;
  }

  /** L_g of the upper loss. */
  get upperLipschitz(): number {
    return this.upper.lipschitz;
  }

  /** Strong convexity and smoothness of h(·, θ). */
  curvature(theta: Float64Array): Curvature {
    return this.problem.curvature(Float32Array.from(theta));
  }

  /**
   * The smallest ε worth asking of a float32 solver: u κ ‖x‖ / 4 (u = 2⁻²³, κ = L/μ from the curvature bounds).
   * Measured on TV denoising, FISTA stalls at about a fifth of this; its stall detection is the backstop.
   */
  async accuracyFloor(theta: Float64Array): Promise<number> {
    const { mu, L } = this.curvature(theta);
    const r0 = readCount();
    this.warmNorm ??= (await readScalars(tf.norm(this.warmX)))[0];
    this.countReads(r0);
    return 0.25 * machineEpsilon() * (L / mu) * Math.max(this.warmNorm, 1);
  }

  /** x̃ of a held evaluation (the accepted one's is the warm start). */
  private xOf(ev: LowerEvaluation): ImageBatch {
    const x = this.held.get(ev.id);
    if (x) return x;
    if (ev.id === this.acceptedEvaluation?.id) return this.warmX;
    throw new UnknownEvaluationError(ev.id, 'HypergradientOracle');
  }

  /**
   * Solves the lower level at θ to accuracy ε from the current warm start (which it does not change), or from `from`'s
   * x̃ (e.g. a re-solve at finer ε near an earlier trial point).
   */
  async evaluate(theta: Float64Array, epsilon: number, from?: LowerEvaluation): Promise<LowerEvaluation> {
    const t0 = performance.now();
    const r0 = readCount();
    const start = from ? this.xOf(from) : this.warmX;
    const lower = await this.lowerSolver.solve(this.problem, Float32Array.from(theta), start, epsilon);
    const [value, gradNormSq] = await readScalars(
      this.upper.value(lower.x),
      tf.tidy(() => squaredNorm(this.upper.gradient(lower.x))),
    );
    this.counters.lowerIterations += lower.iterations;
    this.counters.lowerSeconds += (performance.now() - t0) / 1000;
    this.countReads(r0);
    const id = this.nextId++;
    this.held.set(id, tf.keep(lower.x));
    const summary: LowerSolveSummary = { iterations: lower.iterations, gradNorm: lower.gradNorm, certifiedError: lower.certifiedError, stop: lower.stop };
    return { id, theta: Float64Array.from(theta), value, upperGradNorm: Math.sqrt(gradNormSq), lower: summary };
  }

  /** Adds the reads made since readCount() was `r0` to counters.hostReads; returns their number. */
  private countReads(r0: number): number {
    const n = readCount() - r0;
    this.counters.hostReads = (this.counters.hostReads ?? 0) + n;
    return n;
  }

  /** Makes `ev`'s x̃ the warm start of later solves (after an accepted step). */
  async accept(ev: LowerEvaluation): Promise<void> {
    if (ev.id === this.acceptedEvaluation?.id) return;
    const x = this.xOf(ev);
    this.warmX.dispose();
    this.warmX = tf.keep(x.clone());
    this.acceptedEvaluation = ev;
    this.warmNorm = undefined;
  }

  accepted(): LowerEvaluation | undefined {
    return this.acceptedEvaluation;
  }

  /** Frees an evaluation's x̃ (the accepted x̃ lives on as the warm start). */
  release(ev: LowerEvaluation): void {
    const x = this.held.get(ev.id);
    if (!x) return;
    x.dispose();
    this.held.delete(ev.id);
  }

  /** Inexact hypergradient at θ with lower accuracy ε and CG residual δ (DESIGN §1–2). */
  async hypergradient(theta: Float64Array, epsilon: number, delta: number, evaluation?: LowerEvaluation, options: HypergradientOptions = {}): Promise<HypergradientResult> {
    const r0 = readCount();
    const ev = evaluation ?? (await this.evaluate(theta, epsilon));
    const r1 = readCount();
    const x = this.xOf(ev);
    const thetaT = tf.tensor1d(Float32Array.from(theta));
    const { mu } = this.curvature(theta);
    const t0 = performance.now();
    const b = this.upper.gradient(x);
    const cg = await this.linearSolver.solve((v) => this.problem.hvpX(x, thetaT, v as ImageBatch), b, this.warmQ, delta);
    b.dispose();
    const q = cg.solution as ImageBatch;
    this.counters.cgIterations += cg.iterations;
    this.counters.cgSeconds += (performance.now() - t0) / 1000;
    const grad = await readVector(tf.tidy(() => tf.neg(this.problem.mixedVjp(x, thetaT, q))));
    const valueEstimate = options.valueEstimate ? await this.valueEstimate(ev, x, thetaT, q, cg.residualNorm, mu) : undefined;
    const withBound = options.errorBound ?? true;
    const constants = withBound
      ? await this.estimates.update(this.problem, x, thetaT, theta, q, grad, Math.max(epsilon, 1e-12))
      : { ...this.estimates.snapshot(), qNorm: Math.sqrt((await readScalars(squaredNorm(q)))[0]), work: 0 };
    const probeWork = constants.work;
    this.counters.probeWork += probeWork;
    thetaT.dispose();
    this.warmQ?.dispose();
    this.warmQ = tf.keep(q);
    this.hasQ.fill(true);
    const LHinv = constants.lipschitzHessian / (mu * mu);
    // δ enters ω as the CG residual actually reached (≤ the requested δ once CG converged).
    const hostReads = r1 - r0 + this.countReads(r1);
    const errorBound = !withBound ? Number.NaN : maidErrorBound({ epsilon, delta: cg.residualNorm, mu, Lg: this.upper.lipschitz, upperGradNorm: ev.upperGradNorm, ...constants });
    return {
      value: ev.value, valueEstimate, grad, errorBound, evaluation: ev,
      stats: {
        qNorm: constants.qNorm, lowerIterations: ev.lower.iterations, cgIterations: cg.iterations, cgResidual: cg.residualNorm,
        jacobianNorm: constants.jacobianNorm, lipschitzJ: constants.lipschitzJ, lipschitzHessianInverse: LHinv, mu,
        lowerSeconds: 0, cgSeconds: (performance.now() - t0) / 1000, probeWork, hostReads,
      },
    };
  }

  /**
   * g(x̃) − ⟨q̃, ∇ₓh(x̃)⟩ and its bound: one lower-level gradient (counted as a lower-level iteration) and two
   * Hessian-vector products (counted as CG iterations).
   */
  private async valueEstimate(ev: LowerEvaluation, x: ImageBatch, theta: Tensor1D, q: ImageBatch, residual: number, mu: number): Promise<ValueEstimate> {
    // ∇ₓh(x̃), and L_H probed along the approximate error direction p = ∇ₓh(x̃)/μ (x̃ − x̂ ≈ B⁻¹∇ₓh(x̃)):
    // ‖(B(x̃ − p) − B(x̃))q̂‖/‖p‖, q̂ = q̃/‖q̃‖, taken with the random-direction estimate's running maximum.
    const [correction, hGradNorm, probe] = await readScalars(...tf.tidy(() => {
      const gh = this.problem.gradX(x, theta);
      const norm = tf.norm(gh);
      const qh = tf.div(q, tf.maximum(tf.norm(q), 1e-30)) as ImageBatch;
      const shifted = tf.sub(x, tf.mul(gh, 1 / mu)) as ImageBatch;
      const change = tf.norm(tf.sub(this.problem.hvpX(shifted, theta, qh), this.problem.hvpX(x, theta, qh)));
      return [dot(q, gh), norm, tf.div(tf.mul(change, mu), tf.maximum(norm, 1e-30))];
    }));
    this.counters.lowerIterations += VALUE_ESTIMATE_WORK.lowerIterations;
    this.counters.cgIterations += VALUE_ESTIMATE_WORK.cgIterations;
    const bound = adjointValueBound({
      value: ev.value, residual, hGradNorm, mu, Lg: this.upper.lipschitz, upperGradNorm: ev.upperGradNorm,
      lipschitzHessian: Math.max(probe, this.estimates.lipschitzHessian),
    });
    return { value: ev.value - correction, bound };
  }

  /** A copy of x̃ of `ev` (default: the accepted warm start); the caller disposes it. */
  async reconstruction(ev?: LowerEvaluation): Promise<ImageBatch> {
    return (ev ? this.xOf(ev) : this.warmX).clone();
  }

  /**
   * An oracle over the images `indices` (0-based into this oracle's), warm-started from this one: x and, where every
   * one of its images has one, the CG solution q; the constant estimates (and probe RNG position) carry over. Its g is
   * normalised by `count` images (default |B|; a shard's part of a sharded batch passes the batch size).
   */
  async subset(indices: readonly number[], o: { count?: number } = {}): Promise<HypergradientOracle> {
    checkIndices(indices, this.size, 'HypergradientOracle.subset');
    const idx = tf.tensor1d(Int32Array.from(indices), 'int32');
    const measurement = tf.gather(this.problem.measurement, idx);
    const targets = tf.gather(this.upper.targets, idx) as ImageBatch;
    const x = tf.gather(this.warmX, idx) as ImageBatch;
    const withQ = this.warmQ !== undefined && indices.every((i) => this.hasQ[i]);
    const q = withQ ? (tf.gather(this.warmQ!, idx) as ImageBatch) : undefined;
    idx.dispose();
    const p = this.problem;
    const problem = new LowerLevelProblem(p.operator, p.fidelity, p.regularizer, measurement, p.gamma);
    const sub = new HypergradientOracle(problem, targets, this.lowerSolver, this.linearSolver, x, 0, o.count);
    x.dispose();
    if (q) {
      sub.warmQ = tf.keep(q);
      sub.hasQ.fill(true);
    }
    sub.estimates.restore(this.estimates.carryOver());
    this.subsets.set(sub, { indices: [...indices], owned: [measurement, targets] });
    return sub;
  }

  /**
   * Ends a subset. With `keep` its warm starts x (and q, where it has one) are scattered back into this oracle's
   * images and its constant estimates carried over; its work is always added, scaled by |B|/n ('per-image') or not.
   */
  async merge(sub: Oracle, o: { keep: boolean; costScaling: BatchCostScaling }): Promise<void> {
    const entry = this.subsets.get(sub);
    if (!entry || !(sub instanceof HypergradientOracle)) throw new UnknownSubsetError('HypergradientOracle');
    const c = sub.counters;
    const scale = o.costScaling === 'per-image' ? entry.indices.length / this.size : 1;
    this.rawCounters.lowerIterations += c.lowerIterations;
    this.rawCounters.cgIterations += c.cgIterations;
    // (As BatchedOracle did: the probe work of a discarded subset is not counted.)
    addCounters(this.counters, c, scale, o.keep);
    // Reads are round-trips actually made: added unscaled.
    this.counters.hostReads = (this.counters.hostReads ?? 0) + (c.hostReads ?? 0);
    if (o.keep) {
      const r0 = readCount();
      await this.scatter(sub, entry.indices);
      this.countReads(r0);
      this.estimates.restore(sub.estimates.carryOver());
    }
    this.subsets.delete(sub);
    await sub.dispose();
    tf.dispose(entry.owned);
  }

  /** Writes a subset's x (and q) rows into this oracle's warm starts (the accepted evaluation no longer matches x). */
  private async scatter(sub: HypergradientOracle, indices: readonly number[]): Promise<void> {
    const P = this.warmX.size / this.size;
    // Copies: on the cpu backend a read may return the tensor's own storage.
    const [x, bx] = (await readTensors(this.warmX.clone(), sub.warmX.clone())).map((v) => v.slice());
    indices.forEach((i, k) => x.set(bx.subarray(k * P, (k + 1) * P), i * P));
    this.setWarmX(x);
    if (sub.warmQ) {
      const [q, bq] = (await readTensors(this.warmQ ? this.warmQ.clone() : tf.zeros(this.problem.imageShape), sub.warmQ.clone())).map((v) => v.slice());
      indices.forEach((i, k) => {
        q.set(bq.subarray(k * P, (k + 1) * P), i * P);
        this.hasQ[i] = true;
      });
      this.warmQ?.dispose();
      this.warmQ = tf.keep(tf.tensor(q, this.problem.imageShape)) as ImageBatch;
    }
    this.acceptedEvaluation = undefined;
  }

  private setWarmX(x: Float32Array): void {
    this.warmX.dispose();
    this.warmX = tf.keep(tf.tensor(x, this.problem.imageShape)) as ImageBatch;
    this.warmNorm = undefined;
  }

  /** Warm starts, counters, constant estimates and the accepted evaluation's numbers, for checkpoints. */
  async saveState(): Promise<OracleState> {
    const [x, q] = (await readTensors(this.warmX.clone(), ...(this.warmQ ? [this.warmQ.clone()] : []))).map((v) => v.slice());
    const a = this.acceptedEvaluation;
    const extra: NonNullable<OracleState['extra']> = { rawLowerIterations: this.rawCounters.lowerIterations, rawCgIterations: this.rawCounters.cgIterations };
    if (q && !this.hasQ.every(Boolean)) extra.qImages = this.hasQ.map(Number);
    return {
      x, q: q ?? null, counters: { ...this.counters }, lipschitz: this.estimates.snapshot(), extra,
      accepted: a && { theta: Array.from(a.theta), value: a.value, upperGradNorm: a.upperGradNorm, lower: { ...a.lower } },
    };
  }

  async restoreState(s: OracleState): Promise<void> {
    this.setWarmX(s.x);
    this.warmQ?.dispose();
    this.warmQ = s.q ? (tf.keep(tf.tensor(s.q, this.problem.imageShape)) as ImageBatch) : undefined;
    const qImages = s.extra?.qImages;
    this.hasQ = Array.isArray(qImages) ? qImages.map((v) => v !== 0) : new Array<boolean>(this.size).fill(s.q !== null);
    Object.assign(this.counters, s.counters);
    this.rawCounters.lowerIterations = typeof s.extra?.rawLowerIterations === 'number' ? s.extra.rawLowerIterations : 0;
    this.rawCounters.cgIterations = typeof s.extra?.rawCgIterations === 'number' ? s.extra.rawCgIterations : 0;
    this.estimates.restore(s.lipschitz);
    const a = s.accepted;
    this.acceptedEvaluation = a && { id: this.nextId++, theta: Float64Array.from(a.theta), value: a.value, upperGradNorm: a.upperGradNorm, lower: { ...a.lower } };
  }

  async dispose(): Promise<void> {
    for (const [sub, entry] of this.subsets) {
      await sub.dispose();
      tf.dispose(entry.owned);
    }
    this.subsets.clear();
    for (const x of this.held.values()) x.dispose();
    this.held.clear();
    this.warmX.dispose();
    this.warmQ?.dispose();
    this.warmQ = undefined;
  }
}
