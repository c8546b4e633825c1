import {
  BilevelError, machineEpsilon, MeanSquaredUpperLoss, readScalars, squaredNorm, tf,
  type BatchCostScaling, type Curvature, type HypergradientResult, type ImageBatch, type LowerEvaluation, type LowerStop, type Oracle,
  type OracleCounters, type OracleState,
} from '@bilevel/core';
import { addCounters, checkIndices, gatherRows, scatterRows, UnknownEvaluationError, UnknownSubsetError, zeroCounters } from '../common.js';
import { ConvOperatorFamily, type BoundConvOperator, type DualField } from './operator.js';

export interface PiggybackOptions {
  /** ε_H: strong convexity of f*(y) = δ_{|y_{p,c}| ≤ 1} + (ε_H/2)‖y‖², i.e. f = Huber with threshold ε_H on |K x|. */
  huber: number;
  /** Safety cap on PDHG iterations per call (reported as 'iteration-cap'). */
  maxIterations: number;
  /** Certificates are evaluated every `checkEvery` iterations. */
  checkEvery: number;
  /** Iterations without a new smallest certificate after which the float32 floor is declared (forward solves: only within 100× of u κ ‖x‖/4). */
  stallWindow: number;
  /**
   * Estimate of the Lipschitz constant of the adjoint solution (X̂, Ŷ) in (x, y), used in ω (0 = L_ℓ = 1/n: the change of
   * the source term ∇ℓ only). The descent of accepted steps does not depend on it (MAID's bounds on f are certified).
   */
  adjointLipschitz: number;
  /**
   * The dual iterate is required to ‖y − ŷ‖ ≤ dualRatio·ε only: its certificate carries a 1/ε_H factor and floors in
   * float32 well above the primal one, and it enters the gradient only through ω.
   */
  dualRatio: number;
}

export const PIGGYBACK_DEFAULTS: PiggybackOptions = { huber: 1e-3, maxIterations: 20000, checkEvery: 8, stallWindow: 400, adjointLipschitz: 0, dualRatio: 10 };

/** A forward solve's iterate (x, y), held by the oracle under the evaluation's id. */
interface HeldSolve {
  readonly x: ImageBatch;
  readonly y: DualField;
  /** ‖y − ŷ‖ ≤ dualError. */
  readonly dualError: number;
  /** The accuracy it was asked for. */
  readonly requested: number;
}

/** The norms ‖K_θ‖ of the operators bound lately (curvature is synchronous: it reads them from here). */
const NORM_CACHE = 64;

interface SolverState {
  x: ImageBatch;
  xbar: ImageBatch;
  y: DualField;
}

interface AdjointState {
  X: ImageBatch;
  Xbar: ImageBatch;
  Y: DualField;
}

/**
 * Inexact piggyback (Bogensperger, Ehrhardt, Pock, Salehi, Wong) for the saddle-point lower level
 *   min_x max_y ⟨K_θ x, y⟩ + g(x) − f*(y),  g(x) = ½‖x − z‖²,  f*(y) = δ_{|y_{p,c}|₂ ≤ 1}(y) + (ε_H/2)‖y‖²
 * (a Huber-smoothed TV with a learned discretization K_θ; both g and f* strongly convex: μ_g = 1, μ_{f*} = ε_H).
 * PDHG with the step sizes of Chambolle–Pock for strongly convex g and f* (linear rate) solves the forward problem;
 * the adjoint (X, Y) solves the linearised saddle problem — same K, g̃(X) = ½‖X‖² + ⟨∇ℓ(x), X⟩, f̃* the second-order
 * expansion of f* through the derivative of prox_{σf*} — with the same iteration run alongside ("piggyback"), and
 *   ∇_K ℓ(x̂(K)) = y ⊗ X + Y ⊗ x,  i.e. dℓ = ⟨dK X, y⟩ + ⟨dK x, Y⟩.
 * Certificates: ‖x − x̂‖ ≤ ‖x − z + Kᵀ∇f(Kx)‖ (μ_g = 1), ‖y − ŷ‖ ≤ dist(0, K(Kᵀy − z) + ε_H y + N_B(y))/ε_H, and for the
 * adjoint ‖(X, Y) − (X̂, Ŷ)‖ ≤ ‖residual of the linearised optimality system‖/min(1, ε_H).
 *
 * It implements core's Oracle interface (evaluate / accept / release / hypergradient / accuracyFloor / curvature /
 * counters / upper), so MAID and the other oracle-based optimizers run on it unchanged.
 */
export class PiggybackOracle implements Oracle {
  readonly upper: MeanSquaredUpperLoss;
  readonly counters: OracleCounters = zeroCounters();
  /** Unscaled lower-level and CG iterations of merged subsets (`counters` holds their share under 'per-image'). */
  readonly rawCounters = { lowerIterations: 0, cgIterations: 0 };
  readonly options: PiggybackOptions;
  private warm: SolverState;
  private readonly held = new Map<number, HeldSolve>();
  private acceptedEvaluation: LowerEvaluation | undefined;
  /** dualError and requested of the accepted evaluation (its (x, y) is the warm start). */
  private acceptedSolve: { dualError: number; requested: number } | undefined;
  private nextId = 1;
  private readonly norms = new Map<string, number>();
  private warmNorm: number | undefined;
  private readonly subsets = new Map<PiggybackOracle, { indices: readonly number[]; owned: tf.Tensor[] }>();
  private warmAdjoint: AdjointState | undefined;
  private readonly dualShape: [number, number, number, number];
  private bound: { key: string; op: BoundConvOperator } | undefined;
  /** The ε at which the last joint (forward + adjoint) iteration stalled in float32 (primal, or dual / dualRatio), until one is certified again. */
  private stalledAt: number | undefined;
  /** Shape [1, 1, 2C, C]: sums the two components of each group; shape [1, 1, C, 2C]: copies a group value to its components. */
  private readonly pair: tf.Tensor4D;
  private readonly spread: tf.Tensor4D;

  constructor(
    readonly family: ConvOperatorFamily,
    /** Noisy images z, [n, h, w, 1]. */
    readonly data: ImageBatch,
    /** Ground truth x*, [n, h, w, 1]. */
    targets: ImageBatch,
    options: Partial<PiggybackOptions> = {},
  ) {
    this.options = { ...PIGGYBACK_DEFAULTS, ...options };
    this.upper = new MeanSquaredUpperLoss(targets);
    const [n, h, w] = data.shape;
    this.dualShape = [n, h, w, 2 * family.groups];
    this.warm = { x: tf.keep(data.clone()), xbar: tf.keep(data.clone()), y: tf.keep(tf.zeros(this.dualShape)) };
    const C = family.groups;
    const pair = new Float32Array(2 * C * C), spread = new Float32Array(2 * C * C);
    for (let ch = 0; ch < 2 * C; ch++) {
      pair[ch * C + (ch >> 1)] = 1;
      spread[(ch >> 1) * 2 * C + ch] = 1;
    }
    this.pair = tf.keep(tf.tensor4d(pair, [1, 1, 2 * C, C]));
    this.spread = tf.keep(tf.tensor4d(spread, [1, 1, C, 2 * C]));
  }

  get imageShape(): [number, number, number, number] {
    return this.data.shape as [number, number, number, number];
  }

  /** Number of training images. */
  get size(): number {
    return this.data.shape[0];
  }

  /** Unknowns per image. */
  get pixels(): number {
    const [, h, w, c] = this.imageShape;
    return h * w * c;
  }

  get upperLipschitz(): number {
    return this.upper.lipschitz;
  }

  /** K_θ (bound once per θ; the last one is kept). */
  private async operator(theta: ArrayLike<number>): Promise<BoundConvOperator> {
    const key = Array.from(theta).join(',');
    if (this.bound?.key !== key) {
      this.bound?.op.dispose();
      this.bound = undefined;
      const op = await this.family.bind(theta);
      this.bound = { key, op };
      this.norms.delete(key);
      this.norms.set(key, op.norm);
      if (this.norms.size > NORM_CACHE) this.norms.delete(this.norms.keys().next().value!);
    }
    return this.bound.op;
  }

  /**
   * μ = μ_g = 1 and L = 1 + ‖K‖²/ε_H of the primal problem P(x) = g(x) + f(Kx). ‖K_θ‖ comes from binding K_θ (by
   * evaluate, hypergradient, accuracyFloor or restoreState at θ), which must have happened.
   */
  curvature(theta: Float64Array): Curvature {
    const norm = this.norms.get(Array.from(theta).join(','));
    if (norm === undefined) {
      throw new BilevelError('PiggybackOracle.curvature: ‖K_θ‖ is not known at this θ yet', 'call evaluate, hypergradient or accuracyFloor at θ first (they bind K_θ)');
    }
    return { mu: 1, L: 1 + (norm * norm) / this.options.huber };
  }

  /**
   * u κ ‖x‖/4 as HypergradientOracle.accuracyFloor, raised to the ε at which the last joint iteration stalled in float32
   * (primal, or dual / dualRatio: the dual certificate carries a 1/ε_H factor, so it floors well above the primal one).
   */
  async accuracyFloor(theta: Float64Array): Promise<number> {
    return Math.max(await this.primalFloor(theta), this.stalledAt ?? 0);
  }

  /** u κ ‖x‖/4: the level at which float32 rounding stops the primal certificate (‖x‖ of the warm start, cached). */
  private async primalFloor(theta: Float64Array): Promise<number> {
    await this.operator(theta);
    const { mu, L } = this.curvature(theta);
    this.warmNorm ??= (await readScalars(tf.norm(this.warm.x)))[0];
    return 0.25 * machineEpsilon() * (L / mu) * Math.max(this.warmNorm, 1);
  }

  /** Chambolle–Pock steps for μ_g = 1, μ_{f*} = ε_H: τ = m/2, σ = m/(2ε_H), extrapolation 1/(1 + m), m = 0.99·2√ε_H/‖K‖. */
  private steps(K: BoundConvOperator) {
    const eh = this.options.huber;
    const m = (0.99 * 2 * Math.sqrt(eh)) / Math.max(K.norm, 1e-12);
    return { tau: m / 2, sigma: m / (2 * eh), theta: 1 / (1 + m) };
  }

  /** Per-group norms |v_{p,c}|, broadcast back to the 2 components: [n, h', w', 2C] (1×1 convolutions with 0/1 pairing matrices). */
  private groupNorm(v: tf.Tensor): DualField {
    return tf.conv2d(tf.sqrt(tf.conv2d(tf.square(v) as DualField, this.pair, 1, 'valid')), this.spread, 1, 'valid');
  }

  /** Per-group ⟨u, v⟩, broadcast back to the components. */
  private groupDot(u: tf.Tensor, v: tf.Tensor): DualField {
    return tf.conv2d(tf.conv2d(tf.mul(u, v) as DualField, this.pair, 1, 'valid'), this.spread, 1, 'valid');
  }

  /** One PDHG step (dual first): y⁺ = proj((y + σK x̄)/(1 + σε_H)), x⁺ = (x − τKᵀy⁺ + τz)/(1 + τ), x̄⁺ = x⁺ + θ(x⁺ − x). Returns w = the projection's argument. */
  private forwardStep(K: BoundConvOperator, st: SolverState, keepW: boolean): { next: SolverState; w?: DualField } {
    const { tau, sigma, theta } = this.steps(K);
    const eh = this.options.huber;
    return tf.tidy(() => {
      const w = tf.div(tf.add(st.y, tf.mul(K.apply(st.xbar), sigma)), 1 + sigma * eh) as DualField;
      const y = tf.div(w, tf.maximum(this.groupNorm(w), 1)) as DualField;
      const x = tf.div(tf.add(tf.sub(st.x, tf.mul(K.adjoint(y), tau)), tf.mul(this.data, tau)), 1 + tau) as ImageBatch;
      const xbar = tf.add(x, tf.mul(tf.sub(x, st.x), theta)) as ImageBatch;
      return keepW ? { next: { x, xbar, y }, w } : { next: { x, xbar, y } };
    });
  }

  /** The matching adjoint step through D prox at w: Y⁺ = P_w (Y + σK X̄)/(1 + σε_H), X⁺ = (X − τKᵀY⁺ − τ∇ℓ(x⁺))/(1 + τ). */
  private adjointStep(K: BoundConvOperator, ad: AdjointState, w: DualField, xNew: ImageBatch): AdjointState {
    const { tau, sigma, theta } = this.steps(K);
    const eh = this.options.huber;
    return tf.tidy(() => {
      const v = tf.div(tf.add(ad.Y, tf.mul(K.apply(ad.Xbar), sigma)), 1 + sigma * eh);
      const wn = this.groupNorm(w);
      const outside = tf.greater(wn, 1);
      const what = tf.div(w, tf.maximum(wn, 1e-30));
      const projected = tf.div(tf.sub(v, tf.mul(what, this.groupDot(what, v))), tf.maximum(wn, 1));
      const Y = tf.where(outside, projected, v) as DualField;
      const gradL = this.upper.gradient(xNew);
      const X = tf.div(tf.sub(tf.sub(ad.X, tf.mul(K.adjoint(Y), tau)), tf.mul(gradL, tau)), 1 + tau) as ImageBatch;
      const Xbar = tf.add(X, tf.mul(tf.sub(X, ad.X), theta)) as ImageBatch;
      return { X, Xbar, Y };
    });
  }

  /** Primal and dual distance certificates of (x, y). */
  private async forwardCertificates(K: BoundConvOperator, st: SolverState, withDual: boolean): Promise<{ primal: number; dual: number }> {
    const eh = this.options.huber;
    const [p2, d2] = await readScalars(...tf.tidy(() => {
      const Kx = K.apply(st.x);
      const gradF = tf.div(Kx, tf.maximum(this.groupNorm(Kx), eh));
      const rx = tf.add(tf.sub(st.x, this.data), K.adjoint(gradF as DualField));
      if (!withDual) return [squaredNorm(rx), tf.scalar(Infinity)];
      const v = tf.add(K.apply(tf.sub(K.adjoint(st.y), this.data) as ImageBatch), tf.mul(st.y, eh));
      const yn = this.groupNorm(st.y);
      const yhat = tf.div(st.y, tf.maximum(yn, 1e-30));
      const vy = this.groupDot(v, yhat);
      const onBoundary = tf.logicalAnd(tf.greater(yn, 1 - 1e-4), tf.less(vy, 0));
      const r = tf.where(onBoundary, tf.sub(v, tf.mul(vy, yhat)), v);
      return [squaredNorm(rx), squaredNorm(r)];
    }));
    return { primal: Math.sqrt(p2), dual: Math.sqrt(d2) / eh };
  }

  /** Distance certificate of (X, Y) to the solution of the adjoint system linearised at (x, y). */
  private async adjointCertificate(K: BoundConvOperator, st: SolverState, ad: AdjointState): Promise<number> {
    const { sigma } = this.steps(K);
    const eh = this.options.huber;
    const [r2] = await readScalars(tf.tidy(() => {
      const u = tf.div(tf.add(st.y, tf.mul(K.apply(st.x), sigma)), 1 + sigma * eh);
      const un = this.groupNorm(u);
      const uhat = tf.div(u, tf.maximum(un, 1e-30));
      const active = tf.greater(un, 1);
      const c = tf.div(tf.sub(tf.mul(un, 1 + sigma * eh), 1), sigma);
      const KX = K.apply(ad.X);
      const tangentKX = tf.sub(KX, tf.mul(uhat, this.groupDot(uhat, KX)));
      const r2 = tf.where(active, tf.sub(tangentKX, tf.mul(c, ad.Y)), tf.sub(KX, tf.mul(ad.Y, eh)));
      const r1 = tf.add(tf.add(ad.X, K.adjoint(ad.Y)), this.upper.gradient(st.x));
      return tf.add(squaredNorm(r1), squaredNorm(r2));
    }));
    return Math.sqrt(r2) / Math.min(1, eh);
  }

  private disposeState(s: SolverState | AdjointState | undefined): void {
    if (s) tf.dispose(Object.values(s));
  }

  /**
   * Iterates from `start` (not modified) until `done(certificates)`; with `adjoint`, the adjoint runs alongside.
   * Returns the final states and certificates.
   */
  private async iterate(
    K: BoundConvOperator, start: SolverState, adjoint: AdjointState | undefined, done: (c: { primal: number; dual: number; adjoint: number }) => boolean,
    /** A stall counts as the float32 floor only once the best certificate is below this (above it PDHG is just slow). */
    floorCeiling = Infinity,
  ) {
    const o = this.options;
    let st: SolverState = { x: start.x.clone(), xbar: start.xbar.clone(), y: start.y.clone() };
    let ad: AdjointState | undefined = adjoint && { X: adjoint.X.clone(), Xbar: adjoint.Xbar.clone(), Y: adjoint.Y.clone() };
    let best = Infinity, bestAt = 0, k = 0;
    let stop: LowerStop = 'certified';
    let cert = { primal: Infinity, dual: Infinity, adjoint: 0 };
    for (;;) {
      if (k % o.checkEvery === 0) {
        const fc = await this.forwardCertificates(K, st, ad !== undefined);
        cert = { ...fc, adjoint: ad ? await this.adjointCertificate(K, st, ad) : 0 };
        if (done(cert)) break;
        const progress = ad ? cert.primal + cert.dual + cert.adjoint : cert.primal;
        if (progress < 0.99 * best) {
          best = progress;
          bestAt = k;
        }
        if (k >= o.maxIterations) {
          stop = 'iteration-cap';
          break;
        }
        if (k - bestAt > o.stallWindow && best <= floorCeiling) {
          stop = 'float32-floor';
          break;
        }
      }
      const { next, w } = this.forwardStep(K, st, ad !== undefined);
      if (ad) {
        const nextAd = this.adjointStep(K, ad, w!, next.x);
        w!.dispose();
        this.disposeState(ad);
        ad = nextAd;
      }
      this.disposeState(st);
      st = next;
      k++;
    }
    return { st, ad, cert, iterations: k, stop };
  }

  /** (x, y) of a held evaluation (the accepted one's is the warm start). */
  private solveOf(ev: LowerEvaluation): HeldSolve {
    const h = this.held.get(ev.id);
    if (h) return h;
    if (ev.id === this.acceptedEvaluation?.id && this.acceptedSolve) return { x: this.warm.x, y: this.warm.y, ...this.acceptedSolve };
    throw new UnknownEvaluationError(ev.id, 'PiggybackOracle');
  }

  /** Solves the forward saddle problem at θ until ‖x − x̂‖ ≤ ε (certified), from the warm start or from `from`'s (x, y). */
  async evaluate(theta: Float64Array, epsilon: number, from?: LowerEvaluation): Promise<LowerEvaluation> {
    const t0 = performance.now();
    const K = await this.operator(theta);
    const f = from && this.solveOf(from);
    const start = f ? { x: f.x, xbar: f.x, y: f.y } : this.warm;
    // The primal certificate floors in float32 near u κ ‖x‖/4 (accuracyFloor without the stall level); far above it a
    // stall is a slow phase of PDHG after a large change of θ, not the floor.
    const r = await this.iterate(K, start, undefined, (c) => c.primal <= epsilon, 100 * (await this.primalFloor(theta)));
    tf.dispose(r.st.xbar);
    const x = r.st.x;
    const [value, gradNormSq] = await readScalars(this.upper.value(x), tf.tidy(() => squaredNorm(this.upper.gradient(x))));
    this.counters.lowerIterations += r.iterations;
    this.counters.lowerSeconds += (performance.now() - t0) / 1000;
    const id = this.nextId++;
    this.held.set(id, { x, y: r.st.y, dualError: r.cert.dual, requested: epsilon });
    return {
      id, theta: Float64Array.from(theta), value, upperGradNorm: Math.sqrt(gradNormSq),
      lower: { iterations: r.iterations, gradNorm: r.cert.primal, certifiedError: r.cert.primal, stop: r.stop },
    };
  }

  /** Makes the evaluation's (x, y) the warm start of later solves. */
  async accept(ev: LowerEvaluation): Promise<void> {
    if (ev.id === this.acceptedEvaluation?.id) return;
    const e = this.solveOf(ev);
    this.disposeState(this.warm);
    this.warm = { x: tf.keep(e.x.clone()), xbar: tf.keep(e.x.clone()), y: tf.keep(e.y.clone()) };
    this.acceptedEvaluation = ev;
    this.acceptedSolve = { dualError: e.dualError, requested: e.requested };
    this.warmNorm = undefined;
  }

  accepted(): LowerEvaluation | undefined {
    return this.acceptedEvaluation;
  }

  release(ev: LowerEvaluation): void {
    const e = this.held.get(ev.id);
    if (!e) return;
    tf.dispose([e.x, e.y]);
    this.held.delete(ev.id);
  }

  /**
   * The piggyback hypergradient at θ: continues the forward iteration from the evaluation (or a fresh solve) with the
   * adjoint alongside, warm-started from the last adjoint, until ‖x − x̂‖ ≤ ε, ‖y − ŷ‖ ≤ dualRatio·max(ε, asked ε of
   * the evaluation) and the adjoint certificate ≤ δ; then z = ∇_θ[⟨K_θ X, y⟩ + ⟨K_θ x, Y⟩] with the bound
   *   ω = c_K [‖X‖ ε_y + ‖y‖ δ + ‖Y‖ ε_x + ‖x‖ δ + L_adj (‖x‖ + ‖y‖)(ε_x + ε_y)].
   */
  async hypergradient(theta: Float64Array, epsilon: number, delta: number, evaluation?: LowerEvaluation): Promise<HypergradientResult> {
    const ev = evaluation ?? (await this.evaluate(theta, epsilon));
    const e = this.solveOf(ev);
    const t0 = performance.now();
    const K = await this.operator(theta);
    const dualTarget = this.options.dualRatio * Math.max(epsilon, e.requested);
    const start: SolverState = { x: e.x, xbar: e.x, y: e.y };
    const adjoint0 = this.warmAdjoint ?? (() => {
      const z = tf.zeros(this.imageShape) as ImageBatch;
      return { X: z, Xbar: z, Y: tf.zeros(this.dualShape) as DualField };
    })();
    const r = await this.iterate(K, start, adjoint0, (c) => c.primal <= epsilon && c.dual <= dualTarget && c.adjoint <= delta);
    if (!this.warmAdjoint) tf.dispose([adjoint0.X, adjoint0.Y]);
    // The stall level in units of ε (the dual is asked for dualRatio·ε; an adjoint stall limits δ, whose floor MAID
    // takes from deltaFloor, not ε).
    const stalledEpsilon = Math.max(r.cert.dual > dualTarget ? r.cert.dual / this.options.dualRatio : 0, r.cert.primal > epsilon ? r.cert.primal : 0);
    this.stalledAt = r.stop === 'certified' || stalledEpsilon === 0 ? undefined : stalledEpsilon;
    const ad = r.ad!;
    const tapGrad = await K.tapGradient([[ad.X, r.st.y], [r.st.x, ad.Y]]);
    const grad = this.family.thetaGradient(theta, tapGrad);
    const [xn2, yn2, Xn2, Yn2] = await readScalars(squaredNorm(r.st.x), squaredNorm(r.st.y), squaredNorm(ad.X), squaredNorm(ad.Y));
    const [xn, yn, Xn, Yn] = [xn2, yn2, Xn2, Yn2].map(Math.sqrt);
    const cK = this.family.bilinearBound(theta);
    const Ladj = this.options.adjointLipschitz > 0 ? this.options.adjointLipschitz : this.upper.lipschitz;
    const ex = r.cert.primal, ey = r.cert.dual, dA = r.cert.adjoint;
    const errorBound = cK * (Xn * ey + yn * dA + Yn * ex + xn * dA + Ladj * (xn + yn) * (ex + ey));
    this.disposeState(this.warmAdjoint);
    this.warmAdjoint = { X: tf.keep(ad.X), Xbar: tf.keep(ad.Xbar), Y: tf.keep(ad.Y) };
    this.disposeState(r.st);
    this.counters.lowerIterations += r.iterations;
    this.counters.cgIterations += r.iterations;
    const seconds = (performance.now() - t0) / 1000;
    this.counters.cgSeconds += seconds;
    return {
      value: ev.value, grad, errorBound, evaluation: ev,
      stats: {
        lowerIterations: ev.lower.iterations + r.iterations, cgIterations: r.iterations, cgResidual: dA, jacobianNorm: cK * (xn + yn),
        lipschitzJ: 0, lipschitzHessianInverse: 0, mu: 1, lowerSeconds: 0, cgSeconds: seconds, qNorm: Xn, probeWork: 0,
      },
    };
  }

  /** A copy of x of `ev` (default: the accepted warm start); the caller disposes it. */
  async reconstruction(ev?: LowerEvaluation): Promise<ImageBatch> {
    return (ev ? this.solveOf(ev).x : this.warm.x).clone();
  }

  /** An oracle over the images `indices`, warm-started (x, y and the adjoint) from this one; g normalised by |B|. */
  async subset(indices: readonly number[]): Promise<Oracle> {
    checkIndices(indices, this.size, 'PiggybackOracle.subset');
    const data = gatherRows(this.data, indices) as ImageBatch;
    const targets = gatherRows(this.upper.targets, indices) as ImageBatch;
    const sub = new PiggybackOracle(this.family, data, targets, this.options);
    sub.disposeState(sub.warm);
    const x = tf.keep(gatherRows(this.warm.x, indices) as ImageBatch);
    sub.warm = { x, xbar: tf.keep(x.clone()), y: tf.keep(gatherRows(this.warm.y, indices) as DualField) };
    const a = this.warmAdjoint;
    if (a) sub.warmAdjoint = { X: tf.keep(gatherRows(a.X, indices) as ImageBatch), Xbar: tf.keep(gatherRows(a.Xbar, indices) as ImageBatch), Y: tf.keep(gatherRows(a.Y, indices) as DualField) };
    sub.stalledAt = this.stalledAt;
    this.subsets.set(sub, { indices: [...indices], owned: [data, targets] });
    return sub;
  }

  /** Ends a subset: with `keep` its warm starts are scattered back; its work is added scaled by |B|/n or not. */
  async merge(sub: Oracle, o: { keep: boolean; costScaling: BatchCostScaling }): Promise<void> {
    const entry = sub instanceof PiggybackOracle ? this.subsets.get(sub) : undefined;
    if (!entry || !(sub instanceof PiggybackOracle)) throw new UnknownSubsetError('PiggybackOracle');
    const scale = o.costScaling === 'per-image' ? entry.indices.length / this.size : 1;
    this.rawCounters.lowerIterations += sub.counters.lowerIterations;
    this.rawCounters.cgIterations += sub.counters.cgIterations;
    addCounters(this.counters, sub.counters, scale, o.keep);
    if (o.keep) await this.scatter(sub, entry.indices);
    this.subsets.delete(sub);
    await sub.dispose();
    tf.dispose(entry.owned);
  }

  private async scatter(sub: PiggybackOracle, indices: readonly number[]): Promise<void> {
    const x = tf.keep((await scatterRows(this.warm.x, sub.warm.x, indices)) as ImageBatch);
    const y = tf.keep((await scatterRows(this.warm.y, sub.warm.y, indices)) as DualField);
    this.disposeState(this.warm);
    this.warm = { x, xbar: tf.keep(x.clone()), y };
    const b = sub.warmAdjoint;
    if (b) {
      const a = this.warmAdjoint ?? { X: tf.zeros(this.imageShape), Xbar: tf.zeros(this.imageShape), Y: tf.zeros(this.dualShape) } as AdjointState;
      const next: AdjointState = {
        X: tf.keep((await scatterRows(a.X, b.X, indices)) as ImageBatch),
        Xbar: tf.keep((await scatterRows(a.Xbar, b.Xbar, indices)) as ImageBatch),
        Y: tf.keep((await scatterRows(a.Y, b.Y, indices)) as DualField),
      };
      this.disposeState(a);
      this.warmAdjoint = next;
    }
    this.acceptedEvaluation = undefined;
    this.acceptedSolve = undefined;
    this.warmNorm = undefined;
  }

  /** Warm starts (x, y and the adjoint (X, X̄, Y)), counters and the accepted evaluation: a restore resumes exactly. */
  async saveState(): Promise<OracleState> {
    const a = this.warmAdjoint;
    const [x, y, ...adj] = (await readTensorsCopy(this.warm.x, this.warm.y, ...(a ? [a.X, a.Xbar, a.Y] : [])));
    const ev = this.acceptedEvaluation;
    const extra: NonNullable<OracleState['extra']> = {
      y, stalledAt: this.stalledAt ?? null, rawLowerIterations: this.rawCounters.lowerIterations, rawCgIterations: this.rawCounters.cgIterations,
    };
    if (a) Object.assign(extra, { adjointXbar: adj[1], adjointY: adj[2] });
    if (this.acceptedSolve) Object.assign(extra, this.acceptedSolve);
    return {
      x, q: a ? adj[0] : null, counters: { ...this.counters }, lipschitz: { jacobianNorm: 0, lipschitzJ: 0, lipschitzHessian: 0 }, extra,
      accepted: ev && { theta: Array.from(ev.theta), value: ev.value, upperGradNorm: ev.upperGradNorm, lower: { ...ev.lower } },
    };
  }

  /** Restores saveState's state (a state without the dual and adjoint iterates restarts them from 0). */
  async restoreState(s: OracleState): Promise<void> {
    const e = s.extra ?? {};
    const f32 = (v: unknown) => (v instanceof Float32Array ? v : Array.isArray(v) ? Float32Array.from(v) : undefined);
    this.disposeState(this.warm);
    const x = tf.tensor(s.x, this.imageShape) as ImageBatch;
    const y = f32(e.y);
    this.warm = { x: tf.keep(x), xbar: tf.keep(x.clone()), y: tf.keep(y ? tf.tensor4d(y, this.dualShape) : tf.zeros(this.dualShape)) };
    this.disposeState(this.warmAdjoint);
    const [Xbar, Y] = [f32(e.adjointXbar), f32(e.adjointY)];
    this.warmAdjoint = s.q && Xbar && Y
      ? { X: tf.keep(tf.tensor4d(s.q, this.imageShape)), Xbar: tf.keep(tf.tensor4d(Xbar, this.imageShape)), Y: tf.keep(tf.tensor4d(Y, this.dualShape)) }
      : undefined;
    if ('stalledAt' in e) this.stalledAt = typeof e.stalledAt === 'number' ? e.stalledAt : undefined;
    Object.assign(this.counters, s.counters);
    this.rawCounters.lowerIterations = typeof e.rawLowerIterations === 'number' ? e.rawLowerIterations : 0;
    this.rawCounters.cgIterations = typeof e.rawCgIterations === 'number' ? e.rawCgIterations : 0;
    this.warmNorm = undefined;
    const a = s.accepted;
    this.acceptedEvaluation = a && { id: this.nextId++, theta: Float64Array.from(a.theta), value: a.value, upperGradNorm: a.upperGradNorm, lower: { ...a.lower } };
    this.acceptedSolve = a && { dualError: typeof e.dualError === 'number' ? e.dualError : Infinity, requested: typeof e.requested === 'number' ? e.requested : 0 };
    // Bind K at the accepted θ, so that curvature(θ) is known there.
    if (a) await this.operator(a.theta);
  }

  async dispose(): Promise<void> {
    for (const [sub, entry] of this.subsets) {
      await sub.dispose();
      tf.dispose(entry.owned);
    }
    this.subsets.clear();
    for (const h of this.held.values()) tf.dispose([h.x, h.y]);
    this.held.clear();
    this.disposeState(this.warm);
    this.disposeState(this.warmAdjoint);
    this.warmAdjoint = undefined;
    this.bound?.op.dispose();
    this.bound = undefined;
    tf.dispose([this.pair, this.spread]);
  }
}

/** Host copies of tensors (the tensors are kept). */
async function readTensorsCopy(...t: tf.Tensor[]): Promise<Float32Array[]> {
  const values = await Promise.all(t.map((v) => v.data()));
  return values.map((v) => Float32Array.from(v));
}
