/**
 * {@include ../README.md}
 *
 * @module @bilevel/optimizers
 */
import { bindPlugins, ContainerModule, definePlugin, type PluginDescriptor } from '@bilevel/core';
import { withSeed } from './common.js';
import { Dfo, DFO_SCHEMA } from './dfo.js';
import { FixedAccuracyDescent, FIXED_ACCURACY_SCHEMA } from './fixed.js';
import { Hoag, hoagOptions, HOAG_SCHEMA } from './hoag.js';
import { ADAM_SCHEMA, Isgd, ISGD_DEFAULTS, ISGD_SCHEMA } from './isgd.js';
import { Maid, MAID_SCHEMA } from './maid.js';
import { StochasticMaid, STOCHASTIC_MAID_SCHEMA } from './stochastic-maid.js';

export { Maid, MAID_DEFAULTS, MAID_SCHEMA, initialMaidState, maidStep } from './maid.js';
export type { CarriedHypergradient, MaidOptions, MaidState } from './maid.js';
export {
  certifiedDirection, certifyingAccuracy, closerTo, epsilonFloor, quasiNewtonStep, shrinkAccuracy, solveFloors, stepMetric, valueBounds,
  type Accuracy, type FloorStatus, type MetricState, type ShrinkRule, type StepMetric, type ValueBound,
} from './maid-parts.js';
export { lbfgsDirection, memoryAfterStep, type LbfgsMemory } from './lbfgs.js';
export { deriveStart, needsDerivation, type StartDerivation } from './maid-start.js';
export { toleranceScale, type ToleranceScale } from './tolerances.js';
export { Hoag, HOAG_DEFAULTS, HOAG_SCHEDULES, HOAG_SCHEMA, hoagOptions } from './hoag.js';
export { Isgd, ISGD_DEFAULTS, ISGD_SCHEMA, ADAM_DEFAULTS, ADAM_SCHEMA } from './isgd.js';
export { StochasticMaid, STOCHASTIC_MAID_DEFAULTS, STOCHASTIC_MAID_SCHEMA } from './stochastic-maid.js';
export { Dfo, DFO_DEFAULTS, DFO_SCHEMA } from './dfo.js';
export type { HoagOptions, HoagSchedule, HoagState } from './hoag.js';
export type { IsgdOptions, IsgdState, StochasticUpdate } from './isgd.js';
export type { StochasticMaidOptions, StochasticMaidState } from './stochastic-maid.js';
export type { DfoOptions, DfoSample, DfoState } from './dfo.js';
export { loadLinearAlgebra, symmetricEigen, trustRegionStep } from './dfo.js';
export {
  MinibatchSampler, batchFields, epochLimit, initialSampler, nextBatch, onBatch,
  type BatchOptions, type Minibatch, type MinibatchSamplerState,
} from './batches.js';
export { acceptedEvaluation, decay, DECAY_KINDS, FLOOR_POLICIES, MissingEvaluationError, type DecayKind, type FloorPolicy } from './common.js';
export * from './piggyback/index.js';
export {
  FixedAccuracyDescent, FIXED_ACCURACY_DEFAULTS, FIXED_ACCURACY_METRICS, FIXED_ACCURACY_SCHEMA,
  type FixedAccuracyMetric, type FixedAccuracyOptions, type FixedAccuracyState,
} from './fixed.js';

/**
 * The outer optimizers as plugins; each one's options are its schema (defaults, bounds, docs). ISGD, Adam and
 * stochastic MAID order their minibatches by the experiment seed unless `seed` is given.
 */
export const optimizerPlugins: PluginDescriptor[] = [
  definePlugin({
    kind: 'optimizer', name: 'maid',
    description: 'MAID: adaptive inexact descent with certified accuracy and inexact backtracking',
    schema: MAID_SCHEMA,
    create: (o) => new Maid(o),
  }),
  definePlugin({
    kind: 'optimizer', name: 'hoag',
    description: 'HOAG (Pedregosa 2016): a-priori accuracy schedule, step 1/L with accept/shrink/reject-and-tighten, warm-started CG',
    schema: HOAG_SCHEMA,
    create: (o) => new Hoag(hoagOptions(o)),
  }),
  definePlugin({
    kind: 'optimizer', name: 'isgd',
    description: 'inexact stochastic hypergradient descent over seeded minibatches: α_k = α₀ s(k), ε_k = ε₀ s(k) (poly / constant / log)',
    schema: ISGD_SCHEMA,
    create: (o, ctx) => {
      const { beta1, beta2, adamEpsilon } = ISGD_DEFAULTS;
      return new Isgd({ ...withSeed(o, ctx.seed), update: 'sgd', beta1, beta2, adamEpsilon });
    },
  }),
  definePlugin({
    kind: 'optimizer', name: 'adam-hypergradient',
    description: 'Adam on inexact minibatch hypergradients (the ISGD family with an Adam update)',
    schema: ADAM_SCHEMA,
    create: (o, ctx) => new Isgd({ ...withSeed(o, ctx.seed), update: 'adam' }),
  }),
  definePlugin({
    kind: 'optimizer', name: 'stochastic-maid',
    description: "stochastic MAID: MAID's certified descent test and inexact backtracking per minibatch, adaptive ε/δ/α carried across batches",
    schema: STOCHASTIC_MAID_SCHEMA,
    create: (o, ctx) => new StochasticMaid(withSeed(o, ctx.seed)),
  }),
  definePlugin({
    kind: 'optimizer', name: 'dfo',
    description: 'derivative-free trust region with quadratic models and dynamic lower-level accuracy (DFO-LS style baseline, few parameters)',
    schema: DFO_SCHEMA,
    create: (o) => new Dfo(o),
  }),
  definePlugin({
    kind: 'optimizer', name: 'fixed-accuracy-gd',
    description: 'baseline: hypergradient descent at a fixed accuracy (ε, δ) with Armijo backtracking on the inexact values',
    schema: FIXED_ACCURACY_SCHEMA,
    create: (o) => new FixedAccuracyDescent(o),
  }),
];

/** Registers the outer optimizers. */
export const optimizersModule = new ContainerModule((bind) => bindPlugins(bind, optimizerPlugins));
