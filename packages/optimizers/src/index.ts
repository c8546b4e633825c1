import { bindPlugins, ContainerModule, type Options, type PluginContext, type PluginDescriptor } from '@bilevel/core';
import { Maid, MAID_DEFAULTS, type MaidOptions } from './maid.js';
import { DECAY_KINDS, OptionReader } from './common.js';
import { Dfo, DFO_DEFAULTS, type DfoOptions } from './dfo.js';
import { Hoag, HOAG_DEFAULTS, HOAG_SCHEDULES, type HoagOptions } from './hoag.js';
import { ADAM_DEFAULTS, Isgd, ISGD_DEFAULTS, type IsgdOptions } from './isgd.js';
import { StochasticMaid, STOCHASTIC_MAID_DEFAULTS, type StochasticMaidOptions } from './stochastic-maid.js';
import { FixedAccuracyDescent, FIXED_ACCURACY_DEFAULTS, type FixedAccuracyOptions } from './fixed.js';

export { Maid, MAID_DEFAULTS, initialMaidState, maidStep } from './maid.js';
export type { CarriedHypergradient, MaidOptions, MaidState } from './maid.js';
export {
  certifiedDirection, certifyingAccuracy, closerTo, epsilonFloor, quasiNewtonStep, shrinkAccuracy, solveFloors, stepMetric, valueBounds,
  type Accuracy, type FloorStatus, type MetricState, type ShrinkRule, type StepMetric, type ValueBound,
} from './maid-parts.js';
export { lbfgsDirection, memoryAfterStep, type LbfgsMemory } from './lbfgs.js';
export { Hoag, HOAG_DEFAULTS, HOAG_SCHEDULES, Isgd, ISGD_DEFAULTS, ADAM_DEFAULTS, StochasticMaid, STOCHASTIC_MAID_DEFAULTS, Dfo, DFO_DEFAULTS };
export type { HoagOptions, HoagSchedule, HoagState } from './hoag.js';
export type { IsgdOptions, IsgdState, StochasticUpdate } from './isgd.js';
export type { StochasticMaidOptions, StochasticMaidState } from './stochastic-maid.js';
export type { DfoOptions, DfoSample, DfoState } from './dfo.js';
export { symmetricEigen, trustRegionStep } from './dfo.js';
export {
  MinibatchSampler, batchFields, epochLimit, initialSampler, nextBatch, onBatch,
  type BatchOptions, type Minibatch, type MinibatchSamplerState,
} from './batches.js';
export { acceptedEvaluation, decay, DECAY_KINDS, MissingEvaluationError, OptionReader, type DecayKind, type FloorPolicy } from './common.js';
export * from './piggyback/index.js';
export { FixedAccuracyDescent, FIXED_ACCURACY_DEFAULTS, type FixedAccuracyOptions, type FixedAccuracyState } from './fixed.js';

const MAID_OPTION_DOCS: Record<keyof MaidOptions, string> = {
  epsilon0: 'initial lower-level accuracy ε₀', delta0: 'initial CG residual δ₀', step0: 'initial step α₀',
  eta: 'descent test ω ≤ (1 − η)‖z‖', lambda: 'sufficient decrease λ', shrink: 'ε, δ shrink ν', backtrack: 'step shrink ρ',
  grow: 'ε, δ growth after success', stepGrow: 'step growth after success', maxBacktracks: 'steps tried before shrinking ε, δ',
  gradTol: 'stop when ‖z‖ + ω ≤ gradTol', relGradTol: 'stop when ‖z‖ + ω ≤ relGradTol·‖z₀‖',
  atFloor: 'below the float32 floor: clamp (uncertified steps at the floor, rows say certified: 0) | stop',
  metric: "step metric: identity (−z, the paper's MAID) | rms (diagonal: z_i/√(mean z_i²), rescaled to ‖z‖) | lbfgs (quasi-Newton, unit first step)",
  metricDecay: 'decay of the running mean of z_i² for metric rms (0.9)',
  metricMemory: 'pairs kept by metric lbfgs (8)',
  stepCap: 'metric lbfgs: first trial step at most stepCap × the last accepted step (10; 0: no cap)',
  shrinkRule: "after a failed test: fixed (ε, δ × shrink) | predicted (jump to the accuracy the failed test says is needed, at least × shrink)",
  valueBound: "bounds on f in the decrease test: gradient (the paper's g(x̃) ± ‖∇g‖ε) | adjoint (g(x̃) − ⟨q̃, ∇ₓh(x̃)⟩ ± O(ε²); a CG solve per trial)",
};

/** MAID's numeric options: those whose default is a number (the choices are read by name below). */
type MaidNumberKey = { [K in keyof MaidOptions]: MaidOptions[K] extends number ? K : never }[keyof MaidOptions];
const MAID_NUMBER_KEYS = (Object.keys(MAID_DEFAULTS) as (keyof MaidOptions)[]).filter((k): k is MaidNumberKey => typeof MAID_DEFAULTS[k] === 'number');
const METRICS = ['identity', 'rms', 'lbfgs'] as const;
const SHRINK_RULES = ['fixed', 'predicted'] as const;
const VALUE_BOUNDS = ['gradient', 'adjoint'] as const;
const FIXED_METRICS = ['identity', 'lbfgs'] as const;

const FLOOR = ['clamp', 'stop'] as const;
const COST = ['per-image', 'raw'] as const;

function readMaidOptions(r: OptionReader, defaults: MaidOptions): MaidOptions {
  const opts = { ...defaults };
  for (const k of MAID_NUMBER_KEYS) {
    if (['eta', 'shrink', 'backtrack', 'metricDecay'].includes(k)) opts[k] = r.fraction(k, defaults[k]);
    else opts[k] = r.num(k, defaults[k], { min: 0, integer: k === 'maxBacktracks' || k === 'metricMemory', exclusiveMin: !['gradTol', 'relGradTol', 'lambda', 'stepCap'].includes(k) });
  }
  opts.atFloor = r.choice('atFloor', defaults.atFloor, FLOOR);
  opts.metric = r.choice('metric', defaults.metric, METRICS);
  opts.shrinkRule = r.choice('shrinkRule', defaults.shrinkRule, SHRINK_RULES);
  opts.valueBound = r.choice('valueBound', defaults.valueBound, VALUE_BOUNDS);
  return opts;
}

const HOAG_OPTION_DOCS: Record<keyof HoagOptions, string> = {
  schedule: 'accuracy schedule: geometric ε₀·decay^(k−1) | quadratic ε₀/k² | cubic ε₀/k³ | custom (epsilons)',
  epsilon0: 'ε₀', delta0: 'δ₀ (δ_k = ε_k δ₀/ε₀)', decay: 'ratio of the geometric schedule (0.9)', epsilons: 'custom schedule ε_1, ε_2, … (last repeats)',
  L0: 'initial L of the step 1/L (0: ‖z₀‖/√d as the reference)', lAccept: 'L factor after sufficient decrease (0.95)',
  lShrink: 'L factor when the decrease test fails or a step is rejected (2)', rejectRatio: 'reject when g_k ≥ ratio·g_{k−1} (1.2)',
  tighten: 'schedule factor after a rejection (0.5)', C: 'constant C of the decrease test (0.25)',
  gradTol: 'stop when ‖z‖ ≤ gradTol', relGradTol: 'stop when ‖z‖ ≤ relGradTol·‖z₀‖', atFloor: 'below the float32 floor: clamp | stop',
};

const STOCHASTIC_OPTION_DOCS: Record<Exclude<keyof IsgdOptions, 'update'>, string> = {
  batchSize: 'images per minibatch', step0: 'α₀', stepSchedule: 'α_k = α₀·s(k): constant | poly (k+1)^−stepPower | log 1/log₂(k+2)',
  stepPower: 'q of the poly step schedule', epsilon0: 'ε₀', delta0: 'δ₀ (δ_k = ε_k δ₀/ε₀)',
  accuracySchedule: 'ε_k = ε₀·s(k): constant | poly (k+1)^−accuracyPower | log', accuracyPower: 'p of the poly accuracy schedule',
  beta1: 'Adam β₁', beta2: 'Adam β₂', adamEpsilon: 'Adam ε', maxEpochs: 'stop after this many epochs (0: no limit)',
  gradTol: 'stop when the epoch-mean ‖z̄‖ ≤ gradTol', relGradTol: 'stop when the epoch-mean ‖z̄‖ ≤ relGradTol·(first epoch)',
  atFloor: 'when ε_k falls below the float32 floor: stop (default) | clamp', shuffle: '1 = reshuffle every epoch (seeded), 0 = fixed order', seed: 'minibatch order seed (default: the experiment seed)',
  costScaling: "work accounting: per-image (a batch iteration counts |B|/n) | raw",
};
const { beta1: _b1, beta2: _b2, adamEpsilon: _ae, ...ISGD_OPTION_DOCS } = STOCHASTIC_OPTION_DOCS;

const DFO_OPTION_DOCS: Record<keyof DfoOptions, string> = {
  radius0: 'initial trust-region radius Δ₀', radiusMin: 'stop (converged) when Δ < radiusMin', radiusMax: 'largest Δ',
  eta1: 'accept when ρ ≥ eta1', eta2: 'grow Δ when ρ ≥ eta2', shrink: 'Δ factor after a failed step', grow: 'Δ factor after a very successful step',
  epsilon0: 'lower-level accuracy at Δ₀ (ε ∝ Δ²)', noiseRatio: 'certified f errors ≤ noiseRatio × predicted decrease, else tighten ε',
  atFloor: 'below the float32 floor: clamp | stop',
};

function readIsgd(o: Options, ctx: PluginContext, path: string, defaults: IsgdOptions): IsgdOptions {
  const r = new OptionReader(o, path);
  const opts: IsgdOptions = {
    batchSize: r.num('batchSize', defaults.batchSize, { min: 1, integer: true }),
    step0: r.positive('step0', defaults.step0),
    stepSchedule: r.choice('stepSchedule', defaults.stepSchedule, DECAY_KINDS),
    stepPower: r.num('stepPower', defaults.stepPower, { min: 0 }),
    epsilon0: r.positive('epsilon0', defaults.epsilon0),
    delta0: r.positive('delta0', defaults.delta0),
    accuracySchedule: r.choice('accuracySchedule', defaults.accuracySchedule, DECAY_KINDS),
    accuracyPower: r.num('accuracyPower', defaults.accuracyPower, { min: 0 }),
    update: defaults.update,
    beta1: defaults.update === 'adam' ? r.num('beta1', defaults.beta1, { min: 0, max: 0.999999 }) : defaults.beta1,
    beta2: defaults.update === 'adam' ? r.num('beta2', defaults.beta2, { min: 0, max: 0.999999 }) : defaults.beta2,
    adamEpsilon: defaults.update === 'adam' ? r.positive('adamEpsilon', defaults.adamEpsilon) : defaults.adamEpsilon,
    maxEpochs: r.num('maxEpochs', defaults.maxEpochs, { min: 0, integer: true }),
    gradTol: r.num('gradTol', defaults.gradTol, { min: 0 }),
    relGradTol: r.num('relGradTol', defaults.relGradTol, { min: 0 }),
    atFloor: r.choice('atFloor', defaults.atFloor, FLOOR),
    shuffle: r.num('shuffle', defaults.shuffle, { min: 0, max: 1, integer: true }),
    seed: r.num('seed', ctx.seed, { integer: true }),
    costScaling: r.choice('costScaling', defaults.costScaling, COST),
  };
  r.done();
  return opts;
}

/** HOAG, the ISGD family, stochastic MAID, the derivative-free baseline and the fixed-accuracy baseline. */
const METHOD_PLUGINS: PluginDescriptor[] = [
  {
    kind: 'optimizer', name: 'hoag',
    description: 'HOAG (Pedregosa 2016): a-priori accuracy schedule, step 1/L with accept/shrink/reject-and-tighten, warm-started CG',
    options: HOAG_OPTION_DOCS,
    create: (o, _ctx, path) => {
      const r = new OptionReader(o, path);
      const schedule = r.choice('schedule', HOAG_DEFAULTS.schedule, HOAG_SCHEDULES);
      const epsilons = r.array('epsilons');
      if (schedule === 'custom' && (!epsilons || epsilons.length === 0)) r.fail('epsilons', 'the custom schedule needs a non-empty list', 'give epsilons: [ε_1, ε_2, …] or choose another schedule');
      if (epsilons?.some((e) => e <= 0)) r.fail('epsilons', 'every accuracy must be > 0', 'remove zero or negative entries');
      if (epsilons && schedule !== 'custom') r.fail('epsilons', 'only used by schedule "custom"', 'set schedule: "custom" or remove epsilons');
      const opts: HoagOptions = {
        schedule, epsilons,
        epsilon0: r.positive('epsilon0', epsilons?.[0] ?? HOAG_DEFAULTS.epsilon0),
        delta0: r.positive('delta0', epsilons?.[0] ?? HOAG_DEFAULTS.delta0),
        decay: r.fraction('decay', HOAG_DEFAULTS.decay),
        L0: r.num('L0', HOAG_DEFAULTS.L0, { min: 0 }),
        lAccept: r.fraction('lAccept', HOAG_DEFAULTS.lAccept),
        lShrink: r.num('lShrink', HOAG_DEFAULTS.lShrink, { min: 1 }),
        rejectRatio: r.num('rejectRatio', HOAG_DEFAULTS.rejectRatio, { min: 1, exclusiveMin: true }),
        tighten: r.fraction('tighten', HOAG_DEFAULTS.tighten),
        C: r.num('C', HOAG_DEFAULTS.C, { min: 0 }),
        gradTol: r.num('gradTol', HOAG_DEFAULTS.gradTol, { min: 0 }),
        relGradTol: r.num('relGradTol', HOAG_DEFAULTS.relGradTol, { min: 0 }),
        atFloor: r.choice('atFloor', HOAG_DEFAULTS.atFloor, FLOOR),
      };
      r.done();
      return new Hoag(opts);
    },
  },
  {
    kind: 'optimizer', name: 'isgd',
    description: 'inexact stochastic hypergradient descent over seeded minibatches: α_k = α₀ s(k), ε_k = ε₀ s(k) (poly / constant / log)',
    options: ISGD_OPTION_DOCS,
    create: (o, ctx, path) => new Isgd(readIsgd(o, ctx, path, ISGD_DEFAULTS)),
  },
  {
    kind: 'optimizer', name: 'adam-hypergradient',
    description: 'Adam on inexact minibatch hypergradients (the ISGD family with an Adam update)',
    options: STOCHASTIC_OPTION_DOCS,
    create: (o, ctx, path) => new Isgd(readIsgd(o, ctx, path, ADAM_DEFAULTS)),
  },
  {
    kind: 'optimizer', name: 'stochastic-maid',
    description: "stochastic MAID: MAID's certified descent test and inexact backtracking per minibatch, adaptive ε/δ/α carried across batches",
    options: {
      ...MAID_OPTION_DOCS, batchSize: 'images per minibatch', maxEpochs: 'stop after this many epochs (0: no limit)',
      noiseRatio: 'converged when an epoch-mean ‖z̄‖² ≤ noiseRatio × its sampling variance s²/m (0: off)',
      shuffle: '1 = reshuffle every epoch (seeded), 0 = fixed order', seed: 'minibatch order seed (default: the experiment seed)',
      costScaling: 'work accounting: per-image (a batch iteration counts |B|/n) | raw',
    },
    create: (o, ctx, path) => {
      const r = new OptionReader(o, path);
      const opts: StochasticMaidOptions = {
        ...readMaidOptions(r, STOCHASTIC_MAID_DEFAULTS),
        batchSize: r.num('batchSize', STOCHASTIC_MAID_DEFAULTS.batchSize, { min: 1, integer: true }),
        noiseRatio: r.num('noiseRatio', STOCHASTIC_MAID_DEFAULTS.noiseRatio, { min: 0 }),
        maxEpochs: r.num('maxEpochs', 0, { min: 0, integer: true }),
        shuffle: r.num('shuffle', 1, { min: 0, max: 1, integer: true }),
        seed: r.num('seed', ctx.seed, { integer: true }),
        costScaling: r.choice('costScaling', STOCHASTIC_MAID_DEFAULTS.costScaling, COST),
      };
      r.done();
      return new StochasticMaid(opts);
    },
  },
  {
    kind: 'optimizer', name: 'dfo',
    description: 'derivative-free trust region with quadratic models and dynamic lower-level accuracy (DFO-LS style baseline, few parameters)',
    options: DFO_OPTION_DOCS,
    create: (o, _ctx, path) => {
      const r = new OptionReader(o, path);
      const opts: DfoOptions = {
        radius0: r.positive('radius0', DFO_DEFAULTS.radius0),
        radiusMin: r.positive('radiusMin', DFO_DEFAULTS.radiusMin),
        radiusMax: r.positive('radiusMax', DFO_DEFAULTS.radiusMax),
        eta1: r.fraction('eta1', DFO_DEFAULTS.eta1),
        eta2: r.fraction('eta2', DFO_DEFAULTS.eta2),
        shrink: r.fraction('shrink', DFO_DEFAULTS.shrink),
        grow: r.num('grow', DFO_DEFAULTS.grow, { min: 1 }),
        epsilon0: r.positive('epsilon0', DFO_DEFAULTS.epsilon0),
        noiseRatio: r.positive('noiseRatio', DFO_DEFAULTS.noiseRatio),
        atFloor: r.choice('atFloor', DFO_DEFAULTS.atFloor, FLOOR),
      };
      if (opts.eta2 < opts.eta1) r.fail('eta2', `must be ≥ eta1 (${opts.eta1})`, 'raise eta2 or lower eta1');
      if (opts.radiusMin >= opts.radius0 || opts.radius0 > opts.radiusMax) r.fail('radius0', 'needs radiusMin < radius0 ≤ radiusMax', 'adjust the radii');
      r.done();
      return new Dfo(opts);
    },
  },
  {
    kind: 'optimizer', name: 'fixed-accuracy-gd',
    description: 'baseline: hypergradient descent at a fixed accuracy (ε, δ) with Armijo backtracking on the inexact values',
    options: {
      epsilon: 'fixed lower-level accuracy ε', delta: 'fixed CG residual δ', step0: 'initial step', lambda: 'Armijo constant',
      backtrack: 'step shrink', stepGrow: 'step growth after a success', maxBacktracks: 'steps tried per iteration',
      gradTol: 'stop when ‖z‖ ≤ gradTol', relGradTol: 'stop when ‖z‖ ≤ relGradTol·‖z₀‖',
      metric: 'step direction: identity (−z) | lbfgs (quasi-Newton, unit first step)', metricMemory: 'pairs kept by metric lbfgs (8)',
    } satisfies Record<keyof FixedAccuracyOptions, string>,
    create: (o, _ctx, path) => {
      const r = new OptionReader(o, path);
      const d = FIXED_ACCURACY_DEFAULTS;
      const opts: FixedAccuracyOptions = {
        epsilon: r.positive('epsilon', d.epsilon), delta: r.positive('delta', d.delta), step0: r.positive('step0', d.step0),
        lambda: r.num('lambda', d.lambda, { min: 0 }), backtrack: r.fraction('backtrack', d.backtrack), stepGrow: r.num('stepGrow', d.stepGrow, { min: 1 }),
        maxBacktracks: r.num('maxBacktracks', d.maxBacktracks, { min: 1, integer: true }), gradTol: r.num('gradTol', d.gradTol, { min: 0 }),
        relGradTol: r.num('relGradTol', d.relGradTol, { min: 0 }),
        metric: r.choice('metric', d.metric, FIXED_METRICS), metricMemory: r.num('metricMemory', d.metricMemory, { min: 1, integer: true }),
      };
      r.done();
      return new FixedAccuracyDescent(opts);
    },
  },
];

export const optimizerPlugins: PluginDescriptor[] = [
  {
    kind: 'optimizer', name: 'maid',
    description: 'MAID: adaptive inexact descent with certified accuracy and inexact backtracking',
    options: MAID_OPTION_DOCS,
    create: (o, _ctx, path) => {
      const r = new OptionReader(o, path);
      const opts = readMaidOptions(r, MAID_DEFAULTS);
      r.done();
      return new Maid(opts);
    },
  },
  ...METHOD_PLUGINS,
];

/** Registers the outer optimizers. */
export const optimizersModule = new ContainerModule((bind) => bindPlugins(bind, optimizerPlugins));
