import {
  z, type HypergradientResult, type LowerEvaluation, type Oracle, type OuterOptimizer, type Stop, type StepContext, type StepRecord,
  type StepResult, type ValueEstimate,
} from '@bilevel/core';
import { acceptedEvaluation, FLOOR_POLICIES, fraction, nonNegative, positive } from './common.js';
import { memoryAfterStep } from './lbfgs.js';
import { deriveStart, needsDerivation, type StartDerivation } from './maid-start.js';
import { toleranceScale, type ToleranceScale } from './tolerances.js';
import {
  carriedHypergradient, certifiedDirection, certifyingAccuracy, closerTo, epsilonFloor, quasiNewtonStep, shrinkAccuracy, solveFloors, stepMetric,
  valueBounds, type CarriedHypergradient, type FloorStatus, type MetricState, type ShrinkRule, type StepMetric, type ValueBound,
} from './maid-parts.js';

export type { CarriedHypergradient, ShrinkRule, StepMetric, ValueBound } from './maid-parts.js';

const METRICS = ['identity', 'rms', 'lbfgs'] as const satisfies readonly StepMetric[];
const SHRINK_RULES = ['fixed', 'predicted'] as const satisfies readonly ShrinkRule[];
const VALUE_BOUNDS = ['gradient', 'adjoint'] as const satisfies readonly ValueBound[];

/** MAID's constants (DESIGN §2) with the reference defaults; stochastic MAID shares them. */
export const MAID_SHAPE = {
  /** ε₀, δ₀, α₀: derived at θ₀ when not given (deriveStart); ε and δ are per element (RMS, see toleranceScale). */
  epsilon0: positive().optional().describe('initial lower-level accuracy ε₀, RMS per unknown (default: derived at θ₀)'),
  delta0: positive().optional().describe('initial CG residual δ₀, RMS per unknown in image units (default: derived at θ₀)'),
  step0: positive().optional().describe('initial step α₀ (default: derived at θ₀ from ‖z₀‖ and stepScale)'),
  stepScale: positive().default(1e-2).describe('derived α₀: the first step moves θ by stepScale·max(‖θ₀‖, √p)'),
  /** Descent test: recompute while ω > (1 − η)‖z‖. */
  eta: fraction().default(1e-4).describe('descent test ω ≤ (1 − η)‖z‖'),
  /** Sufficient decrease: U(θ⁺) − L(θ) + λα‖z‖² ≤ 0. */
  lambda: nonNegative().default(1e-4).describe('sufficient decrease λ'),
  /** Shrink ν of ε, δ on a failed descent test or backtracking; backtracking shrink ρ of α. */
  shrink: fraction().default(0.5).describe('ε, δ shrink ν'),
  backtrack: fraction().default(0.5).describe('step shrink ρ'),
  /** Growth ν̄ of ε, δ and of the next initial α after a success. */
  grow: positive().default(1.05).describe('ε, δ growth after success'),
  stepGrow: positive().default(10 / 9).describe('step growth after success'),
  maxBacktracks: z.number().int().gt(0).default(10).describe('steps tried before shrinking ε, δ'),
  /** Converged once ‖z‖ + ω ≤ max(gradTol·P, relGradTol · ‖z₀‖) (gradTol per unknown: f sums over P per image). */
  gradTol: nonNegative().default(0).describe('stop when (‖z‖ + ω)/P ≤ gradTol (P unknowns per image)'),
  relGradTol: nonNegative().default(1e-4).describe('stop when ‖z‖ + ω ≤ relGradTol·‖z₀‖'),
  /**
   * When ε or δ must go below the float32 floor: 'clamp' keeps iterating at the floor with uncertified steps
   * (−z without the descent test, backtracking on the computed loss g(x̃⁺) − g(x̃) + λα‖z‖² ≤ 0; rows say
   * certified: 0), 'stop' stops with accuracy-floor.
   */
  atFloor: z.enum(FLOOR_POLICIES).default('clamp').describe('below the float32 floor: clamp (uncertified steps at the floor, rows say certified: 0) | stop'),
  /**
   * Step metric: 'identity' steps along −z (the paper's MAID); 'rms' along −d, d_i = z_i/(√v̂_i + ϵ) rescaled to
   * ‖d‖ = ‖z‖, v̂ the bias-corrected running mean of z_i² (decay `metricDecay`) — a diagonal variable metric that
   * evens out parameter blocks of different scales (FoE weights vs filter taps). The certified tests use ⟨z, d⟩:
   * descent iff ω ≤ (1 − η)⟨z, d⟩/‖d‖, sufficient decrease with λα⟨z, d⟩. 'lbfgs': d = H z with H the L-BFGS
   * inverse-Hessian model of the last `metricMemory` accepted pairs (Δθ, Δz) with ⟨Δθ, Δz⟩ > 0, and the first
   * trial step α = 1 whenever a pair exists (at most `stepCap` × the last accepted step, see quasiNewtonStep); the
   * pairs are dropped after a step that needed ≥ 3 halvings. A quasi-Newton direction that fails the descent test
   * where −z passes gives way to −z for that iteration (see certifiedDirection).
   */
  metric: z.enum(METRICS).default('identity')
    .describe("step metric: identity (−z, the paper's MAID) | rms (diagonal: z_i/√(mean z_i²), rescaled to ‖z‖) | lbfgs (quasi-Newton, unit first step)"),
  metricDecay: fraction().default(0.9).describe('decay of the running mean of z_i² for metric rms'),
  metricMemory: z.number().int().gt(0).default(8).describe('pairs kept by metric lbfgs'),
  /** Metric 'lbfgs': the first trial step is no longer than stepCap × the last accepted step (0: no cap). */
  stepCap: nonNegative().default(10).describe('metric lbfgs: first trial step at most stepCap × the last accepted step (0: no cap)'),
  /**
   * How ε, δ shrink after a failed test: 'fixed' multiplies them by `shrink`; 'predicted' jumps to the accuracy the
   * failed test says is needed (never shrinking by less than `shrink`, nor by more than 1000×): after the descent
   * test, 0.9·(1 − η)⟨z, d⟩/(‖d‖ω) (ω is about linear in ε, δ); after an accuracy-limited step, 0.9·ε* with ε* the
   * root of (‖∇g(x̃)‖ + ‖∇g(x̃⁺)‖)ε + L_g ε² = g(x̃) − g(x̃⁺) − λα⟨z, d⟩, at which the ε-bounds certify the computed decrease.
   */
  shrinkRule: z.enum(SHRINK_RULES).default('fixed')
    .describe('after a failed test: fixed (ε, δ × shrink) | predicted (jump to the accuracy the failed test says is needed, at least × shrink)'),
  /**
   * The bounds U, L on f in the sufficient-decrease test: 'gradient' (the paper's) g(x̃) ± (‖∇g(x̃)‖ε + ½L_g ε²);
   * 'adjoint' the adjoint-corrected value g(x̃) − ⟨q̃, ∇ₓh(x̃)⟩ ± (ρe + (L_H‖∇g‖/μ + ½L_g)e² + 8u|g|) (e = ‖∇ₓh(x̃)‖/μ,
   * ρ the CG residual; see adjointValueBound) — second order in e, so small decreases are certified at a far coarser ε.
   * Costs a CG solve, a lower-level gradient and two Hessian-vector products at each trial point; the trial's
   * hypergradient is reused as the next iteration's when the step is accepted.
   * Rows then report the corrected value as upperLoss. Falls back to 'gradient' with oracles that provide no value
   * estimate (the piggyback oracle).
   */
  valueBound: z.enum(VALUE_BOUNDS).default('gradient')
    .describe("bounds on f in the decrease test: gradient (the paper's g(x̃) ± ‖∇g‖ε) | adjoint (g(x̃) − ⟨q̃, ∇ₓh(x̃)⟩ ± O(ε²); a CG solve per trial)"),
};

/** MAID's options, declared once: defaults, bounds and docs. */
export const MAID_SCHEMA = z.strictObject(MAID_SHAPE);
export type MaidOptions = z.output<typeof MAID_SCHEMA>;
export const MAID_DEFAULTS: MaidOptions = MAID_SCHEMA.parse({});

/** Serializable MAID state (plain numbers): with the oracle's state it resumes a run bit-for-bit. */
export interface MaidState extends MetricState {
  theta: number[];
  /** ε and δ per element (RMS, see toleranceScale); 0 until derived at θ₀ (deriveStart), as is `step`. */
  epsilon: number;
  delta: number;
  step: number;
  /** Accepted steps so far. */
  iter: number;
  firstGradNorm: number;
  /** Whether the oracle's accepted evaluation is x̃ at θ (false at the start, and on each new minibatch). */
  evaluated: boolean;
  carried?: CarriedHypergradient;
  /** The derived starting values, until the first row reports them. */
  derivation?: StartDerivation;
  /** α₀ was derived: the first accepted step may double (see expand). */
  expandStep?: boolean;
}

/** MAID's state at θ₀: ε₀, δ₀, α₀ as given (0: derived at the first step) and no evaluation yet. */
export function initialMaidState(theta0: ArrayLike<number>, o: MaidOptions): MaidState {
  return { theta: Array.from(theta0), epsilon: o.epsilon0 ?? 0, delta: o.delta0 ?? 0, step: o.step0 ?? 0, iter: 0, firstGradNorm: 0, evaluated: false };
}

/** z, ω (and the adjoint value estimate) at the accepted θ, fresh or carried. */
interface Gradient {
  readonly grad: Float64Array;
  readonly errorBound: number;
  readonly valueEstimate?: ValueEstimate;
  readonly cgIterations: number;
}

/** One MAID iteration in progress: its θ, the accepted x̃ there, the trial kept for a re-solve, the floors reached. */
interface Iteration extends FloorStatus {
  readonly theta: Float64Array;
  current: LowerEvaluation | undefined;
  /** The last trial rejected for accuracy alone: the retry after shrinking ε warm-starts from its x̃ (see closerTo). */
  retry: LowerEvaluation | undefined;
  backtracks: number;
  /** The oracle's per-element tolerance scale. */
  readonly scale: ToleranceScale;
}

/** An accepted trial step and what it commits. */
interface Accepted {
  readonly ev: LowerEvaluation;
  readonly step: number;
  readonly hg: Gradient;
  readonly commit: MetricState;
  /** The trial's hypergradient (adjoint bounds). */
  readonly next?: HypergradientResult;
}

/**
 * The accuracy control before a descent test: ε against the float32 floor, x̃ at θ re-solved when coarser than ε (the
 * refinement becomes the oracle's accepted evaluation), then the solver and δ floors.
 */
async function ensureEvaluation(oracle: Oracle, s: MaidState, it: Iteration, o: MaidOptions): Promise<Stop | undefined> {
  const stop = await epsilonFloor(oracle, it.theta, s, it, o.atFloor, it.scale);
  if (stop) return stop;
  if (it.current && it.current.lower.certifiedError > s.epsilon * it.scale.x) {
    oracle.release(it.current);
    it.current = undefined;
  }
  if (!it.current) {
    it.current = await oracle.evaluate(it.theta, s.epsilon * it.scale.x);
    // x̃ at the accepted θ, finer than the last accepted one: later refinements and trials warm-start from it.
    await oracle.accept(it.current);
    s.evaluated = true;
    s.carried = undefined;
  }
  return solveFloors(oracle, it.theta, it.current, s, it, o.atFloor, it.scale);
}

/** z and ω at θ: the carried trial hypergradient while its δ still holds, else a fresh one at x̃. */
async function gradientAt(oracle: Oracle, s: MaidState, it: Iteration, o: MaidOptions): Promise<Gradient> {
  const c = s.carried;
  s.carried = undefined;
  if (c && c.delta <= s.delta) return { grad: Float64Array.from(c.grad), errorBound: c.errorBound, valueEstimate: c.valueEstimate, cgIterations: c.cgIterations };
  const current = it.current!;
  const hg = await oracle.hypergradient(it.theta, current.lower.certifiedError, s.delta * it.scale.residual, current, { valueEstimate: o.valueBound === 'adjoint' });
  return { grad: hg.grad, errorBound: hg.errorBound, valueEstimate: hg.valueEstimate, cgIterations: hg.stats.cgIterations };
}

/** A trial point θ − αd, its x̃ (and the adjoint hypergradient there), its value bounds and whether it passes. */
interface Trial {
  readonly ev: LowerEvaluation;
  readonly next?: HypergradientResult;
  readonly bounds: { value: number; width: number };
  readonly passes: boolean;
}

type Direction = { d: Float64Array; zd: number; step0: number };

/** θ − αd. */
const pointAt = (it: Iteration, dir: Direction, step: number): Float64Array => it.theta.map((t, j) => t - step * dir.d[j]);

/** Solves at `trial` = θ − αd (warm-started from `from`) and applies the sufficient-decrease test against `lower` = L(θ). */
async function trialAt(oracle: Oracle, s: MaidState, it: Iteration, o: MaidOptions, dir: Direction, step: number, trial: Float64Array, lower: number, from?: LowerEvaluation): Promise<Trial> {
  const ev = await oracle.evaluate(trial, s.epsilon * it.scale.x, from);
  const next = o.valueBound === 'adjoint' ? await oracle.hypergradient(trial, ev.lower.certifiedError, s.delta * it.scale.residual, ev, { valueEstimate: true }) : undefined;
  const bounds = valueBounds(ev, next?.valueEstimate, oracle.upperLipschitz);
  const passes = (it.uncertified ? bounds.value : bounds.value + bounds.width) - lower + o.lambda * step * dir.zd <= 0;
  return { ev, next, bounds, passes };
}

/**
 * The first iteration with a derived α₀ measures the curvature along −d: while the step 2α also passes the test and
 * lowers the computed value further, it doubles α (at most `MAX_EXPANSIONS` times), each trial warm-started from the
 * last. Returns the best trial passed.
 */
async function expand(oracle: Oracle, s: MaidState, it: Iteration, o: MaidOptions, dir: Direction, lower: number, first: { trial: Trial; step: number }): Promise<{ trial: Trial; step: number }> {
  let best = first;
  for (let i = 0; i < MAX_EXPANSIONS; i++) {
    const step = 2 * best.step;
    const t = await trialAt(oracle, s, it, o, dir, step, pointAt(it, dir, step), lower, best.trial.ev);
    if (!(t.passes && t.bounds.value < best.trial.bounds.value)) {
      oracle.release(t.ev);
      break;
    }
    oracle.release(best.trial.ev);
    best = { trial: t, step };
  }
  return best;
}

/** Doublings of a derived α₀ in the first iteration (up to 2¹⁰ = 1024 × α₀). */
const MAX_EXPANSIONS = 10;

/**
 * Inexact backtracking along −d from α₀: accept the first α = α₀ρⁱ with U(θ − αd) − L(θ) + λα⟨z, d⟩ ≤ 0 (certified:
 * the ε-bounds; uncertified: the computed values). A trial whose computed values decrease enough while their bounds do
 * not ends the search (kept as `retry`; `needed` is the ε that would certify it): a shorter step cannot help. With a
 * derived α₀, a first trial that passes at once is expanded (see expand).
 */
async function backtrack(
  oracle: Oracle, s: MaidState, it: Iteration, ctx: StepContext, o: MaidOptions, hg: Gradient, dir: Direction,
): Promise<{ accepted?: Omit<Accepted, 'hg' | 'commit'>; needed: number; stop?: Stop }> {
  const Lg = oracle.upperLipschitz;
  const current = it.current!;
  const now = valueBounds(current, hg.valueEstimate, Lg);
  const lower = it.uncertified ? now.value : now.value - now.width;
  let needed = 0; // the ε at which the bounds would certify an accuracy-limited step's computed decrease
  for (let i = 0; i < o.maxBacktracks; i++) {
    const step = dir.step0 * o.backtrack ** i;
    const trial = pointAt(it, dir, step);
    const t = await trialAt(oracle, s, it, o, dir, step, trial, lower, it.retry && closerTo(trial, it.retry.theta, it.theta) ? it.retry : undefined);
    if (it.retry) oracle.release(it.retry);
    it.retry = undefined;
    if (t.passes) {
      const best = i === 0 && s.expandStep ? await expand(oracle, s, it, o, dir, lower, { trial: t, step }) : { trial: t, step };
      return { accepted: { ev: best.trial.ev, step: best.step, next: best.trial.next }, needed };
    }
    // The computed values decrease enough but their ε-bounds do not: shorter steps cannot help, more accuracy can.
    const decrease = now.value - t.bounds.value - o.lambda * step * dir.zd;
    const accuracyLimited = !it.uncertified && decrease >= 0;
    if (accuracyLimited) {
      // The adjoint widths are second order in ε (δ shrinks with it); the gradient widths solve Gε + L_g ε² = D.
      needed = t.next?.valueEstimate && hg.valueEstimate
        ? s.epsilon * Math.sqrt(decrease / (now.width + t.bounds.width))
        : certifyingAccuracy(decrease, current.upperGradNorm + t.ev.upperGradNorm, Lg) / it.scale.x;
    }
    it.backtracks++;
    if (accuracyLimited) {
      it.retry = t.ev;
      return { needed };
    }
    oracle.release(t.ev);
    const stop = ctx.check();
    if (stop) return { needed, stop };
  }
  return { needed };
}

/**
 * After no step passed: at the floor with the L-BFGS metric, drop the (possibly stale) quasi-Newton model and retry once
 * along −z; otherwise stop at the floor, or shrink ε, δ (to the accuracy an accuracy-limited trial needed).
 */
function afterFailure(s: MaidState, it: Iteration, needed: number, o: MaidOptions): Stop | undefined {
  if (it.uncertified && o.metric === 'lbfgs' && (s.pairs?.length || s.last)) {
    s.pairs = [];
    s.last = undefined;
    return undefined;
  }
  if (it.uncertified) return { reason: 'accuracy-floor', message: `no decrease of the computed loss along the step direction with ${it.cause}` };
  shrinkAccuracy(s, needed > 0 ? (0.9 * needed) / s.epsilon : o.shrink, o);
  return undefined;
}

/**
 * One pass of an iteration at the current (ε, δ): z and ω, the convergence test ‖z‖ + ω ≤ tol, the certified descent
 * direction (ε, δ shrink while ω > (1 − η)⟨z, d⟩/‖d‖), then backtracking. Returns a stop, an accepted step, or neither
 * (shrunk: try again).
 */
async function attempt(oracle: Oracle, s: MaidState, it: Iteration, ctx: StepContext, o: MaidOptions): Promise<{ stop?: Stop; accepted?: Accepted }> {
  const floorStop = await ensureEvaluation(oracle, s, it, o);
  if (floorStop) return { stop: floorStop };
  const hg = await gradientAt(oracle, s, it, o);
  const zNorm = Math.hypot(...hg.grad);
  if (s.iter === 0 && s.firstGradNorm === 0) s.firstGradNorm = zNorm;
  if (zNorm + hg.errorBound <= Math.max(o.gradTol * it.scale.pixels, o.relGradTol * s.firstGradNorm)) {
    return { stop: { reason: 'converged', message: `‖z‖ + ω = ${(zNorm + hg.errorBound).toExponential(2)} is below the gradient tolerance` } };
  }
  const { d: metricD, commit } = stepMetric(it.theta, hg.grad, s, o);
  const { d, zd, omegaMax, steepestStep } = certifiedDirection(hg.grad, metricD, it.uncertified ? 0 : hg.errorBound, o.eta, o.metric === 'lbfgs');
  // A quasi-Newton direction carries its own scale: try the unit step first (capped, see quasiNewtonStep).
  const step0 = steepestStep ?? (o.metric === 'lbfgs' && s.pairs?.length ? quasiNewtonStep(d, it.theta, s.last?.theta, o.stepCap) : s.step);
  if (!it.uncertified && hg.errorBound > omegaMax) {
    shrinkAccuracy(s, (0.9 * omegaMax) / hg.errorBound, o);
    return {};
  }
  const r = await backtrack(oracle, s, it, ctx, o, hg, { d, zd, step0 });
  if (r.stop) return { stop: r.stop };
  if (r.accepted) return { accepted: { ...r.accepted, hg, commit } };
  return { stop: afterFailure(s, it, r.needed, o) };
}

/** Takes the accepted step: x̃⁺ becomes the warm start, the metric commits, ε, δ and the next α₀ grow. */
async function takeStep(oracle: Oracle, s: MaidState, it: Iteration, acc: Accepted, ctx: StepContext, o: MaidOptions): Promise<StepRecord> {
  await oracle.accept(acc.ev);
  oracle.release(it.current!);
  s.theta = Array.from(acc.ev.theta);
  Object.assign(s, o.metric === 'lbfgs' ? memoryAfterStep(acc.commit, it.backtracks) : acc.commit);
  const c = oracle.counters;
  const record: StepRecord = {
    upperLoss: acc.next?.valueEstimate?.value ?? acc.ev.value,
    epsilon: s.epsilon,
    delta: s.delta,
    omega: acc.hg.errorBound,
    gradNorm: Math.hypot(...acc.hg.grad),
    step: acc.step,
    backtracks: it.backtracks,
    omegaRatio: acc.hg.errorBound / Math.hypot(...acc.hg.grad),
    lowerIterationsCall: acc.ev.lower.iterations,
    /** The accepted x̃'s certified error per element, ‖∇ₓh‖/(μ√N) ≤ ε. */
    lowerError: acc.ev.lower.certifiedError / it.scale.x,
    cgIterationsCall: acc.hg.cgIterations,
    lowerSeconds: c.lowerSeconds,
    cgSeconds: c.cgSeconds,
    otherSeconds: ctx.seconds - c.lowerSeconds - c.cgSeconds,
    certified: it.uncertified ? 0 : 1,
    ...s.derivation,
  };
  s.derivation = undefined;
  const next = acc.next;
  if (next) s.carried = carriedHypergradient(next, s.delta);
  s.iter++;
  s.expandStep = undefined;
  s.step = acc.step * o.stepGrow;
  s.epsilon *= o.grow;
  s.delta *= o.grow;
  return record;
}

/**
 * One MAID iteration from `state` on `oracle` (the step stochastic MAID also takes on each minibatch oracle): passes at
 * shrinking (ε, δ) until a step is accepted (a record) or a stop. The accepted x̃ at θ is the oracle's accepted evaluation.
 */
export async function maidStep(oracle: Oracle, state: MaidState, ctx: StepContext, o: MaidOptions): Promise<StepResult<MaidState>> {
  const s = structuredClone(state);
  const scale = toleranceScale(oracle);
  if (needsDerivation(s)) s.derivation = await deriveStart(oracle, s, o, scale);
  const it: Iteration = {
    theta: Float64Array.from(s.theta), current: s.evaluated ? acceptedEvaluation(oracle, 'maid') : undefined, retry: undefined,
    backtracks: 0, uncertified: false, cause: '', scale,
  };
  for (;;) {
    const r = await attempt(oracle, s, it, ctx, o);
    if (r.accepted) return { state: s, record: await takeStep(oracle, s, it, r.accepted, ctx, o) };
    if (r.stop) {
      if (it.current) oracle.release(it.current);
      if (it.retry) oracle.release(it.retry);
      return { state: s, stop: r.stop };
    }
  }
}

/**
 * MAID — Method of Adaptive Inexact Descent (Salehi, Mukherjee, Roberts, Ehrhardt). Each iteration:
 * 1. z with bound ω at accuracies (ε, δ); while ω > (1 − η)‖z‖ shrink ε, δ by ν (−z is then a certified descent direction);
 * 2. backtrack α ← ρα until U(θ − αz) − L(θ) + λα‖z‖² ≤ 0 with
 *    U = g(x̃⁺) + ‖∇g(x̃⁺)‖ε⁺ + (L_g/2)ε⁺², L = g(x̃) − ‖∇g(x̃)‖ε − (L_g/2)ε²  (ε the certified accuracies);
 *    if no α passes, shrink ε, δ and go back to 1 — at once (keeping α) when the computed values g(x̃⁺) − g(x̃)
 *    already decrease enough and only the ε-terms fail the test, since a shorter step cannot fix that;
 * 3. after a success grow ε, δ by ν̄ and the next initial α by `stepGrow`.
 * Re-solves warm-start from the nearest x̃ held: a refinement at θ from the finest x̃ there (made the oracle's warm
 * start), a trial rejected for accuracy alone from its own x̃ when the retried trial point is nearer to it than to θ.
 * In float32 the accuracies cannot shrink forever: below the floor (`atFloor`) MAID either stops or clamps ε, δ
 * there and takes uncertified steps (backtracking on the computed loss) until no step decreases it (with the L-BFGS
 * metric: until neither the quasi-Newton direction nor, retried once, −z does).
 */
export class Maid implements OuterOptimizer<MaidState> {
  readonly name = 'maid';

  constructor(readonly options: MaidOptions = MAID_DEFAULTS) {}

  init(theta0: Float64Array): MaidState {
    return initialMaidState(theta0, this.options);
  }

  step(oracle: Oracle, state: MaidState, ctx: StepContext): Promise<StepResult<MaidState>> {
    return maidStep(oracle, state, ctx, this.options);
  }

  theta(state: MaidState): Float64Array {
    return Float64Array.from(state.theta);
  }
}
