import { describe, expect, it } from 'vitest';
import { createContainer, PluginRegistry } from '@bilevel/core';
import {
  ADAM_DEFAULTS, ADAM_SCHEMA, Dfo, DFO_DEFAULTS, DFO_SCHEMA, FIXED_ACCURACY_DEFAULTS, FIXED_ACCURACY_SCHEMA, Hoag, HOAG_DEFAULTS, HOAG_SCHEMA,
  hoagOptions, Isgd, ISGD_DEFAULTS, ISGD_SCHEMA, Maid, MAID_DEFAULTS, MAID_SCHEMA, optimizersModule, StochasticMaid,
  STOCHASTIC_MAID_DEFAULTS, STOCHASTIC_MAID_SCHEMA, type FixedAccuracyDescent,
} from '@bilevel/optimizers';

const registry = PluginRegistry.fromContainer(createContainer([optimizersModule]));
const ctx = { imageShape: [16, 16] as const, seed: 7 };
const make = (name: string, options: Record<string, unknown> = {}) => registry.create('optimizer', name, options, ctx, 'optimizer.options');
const NAMES = ['maid', 'hoag', 'isgd', 'adam-hypergradient', 'stochastic-maid', 'dfo', 'fixed-accuracy-gd'];

describe('optimizer plugins', () => {
  it('registers hoag, isgd, adam-hypergradient, stochastic-maid and dfo with documented options', () => {
    for (const name of NAMES) {
      expect(registry.names('optimizer')).toContain(name);
      const d = registry.descriptor('optimizer', name);
      expect(Object.keys(d.options ?? {}).length).toBeGreaterThan(3);
      expect(d.schema).toBeDefined();
    }
    expect(registry.descriptor('optimizer', 'maid').options?.stepCap).toMatch(/\(default 10\)$/);
    expect(registry.descriptor('optimizer', 'isgd').options?.seed).toMatch(/experiment seed/);
    const hoag = make('hoag', { schedule: 'cubic', epsilon0: 0.05 }) as Hoag;
    expect(hoag.options.schedule).toBe('cubic');
    expect(hoag.scheduled(2)).toBeCloseTo(0.05 / 8, 12);
    expect((make('hoag', { schedule: 'custom', epsilons: [0.2, 0.1] }) as Hoag).scheduled(5)).toBe(0.1);
    const isgd = make('isgd', { batchSize: 3 }) as Isgd;
    expect([isgd.name, isgd.options.batchSize, isgd.options.seed]).toEqual(['isgd', 3, 7]);
    const adam = make('adam-hypergradient') as Isgd;
    expect([adam.name, adam.options.update]).toEqual(['adam-hypergradient', 'adam']);
    expect((make('stochastic-maid', { batchSize: 5, eta: 0.1 }) as StochasticMaid).options.eta).toBe(0.1);
    expect((make('dfo', { radius0: 0.5 }) as Dfo).options.radius0).toBe(0.5);
    expect(make('fixed-accuracy-gd', { epsilon: 1e-2 }).name).toBe('fixed-accuracy-gd');
  });

  it('keeps the defaults of every optimizer (declared once, in its schema)', () => {
    expect(MAID_DEFAULTS).toEqual({
      stepScale: 1e-2, eta: 1e-4, lambda: 1e-4, shrink: 0.5, backtrack: 0.5, grow: 1.05,
      stepGrow: 10 / 9, maxBacktracks: 10, gradTol: 0, relGradTol: 1e-4, atFloor: 'clamp',
      metric: 'identity', metricDecay: 0.9, metricMemory: 8, stepCap: 10, shrinkRule: 'fixed', valueBound: 'gradient',
    });
    expect(HOAG_DEFAULTS).toEqual({
      schedule: 'geometric', epsilon0: 3e-4, delta0: 3e-4, decay: 0.9, L0: 0, lAccept: 0.95, lShrink: 2, rejectRatio: 1.2,
      tighten: 0.5, C: 0.25, gradTol: 0, relGradTol: 1e-4, atFloor: 'clamp',
    });
    const isgd = {
      batchSize: 4, step0: 1e-2, stepSchedule: 'poly', stepPower: 0.5, epsilon0: 3e-4, delta0: 3e-4, accuracySchedule: 'poly',
      accuracyPower: 1, update: 'sgd', beta1: 0.9, beta2: 0.999, adamEpsilon: 1e-8, maxEpochs: 0, gradTol: 0, relGradTol: 1e-3,
      atFloor: 'stop', shuffle: 1, seed: 0, costScaling: 'per-image',
    };
    expect(ISGD_DEFAULTS).toEqual(isgd);
    expect(ADAM_DEFAULTS).toEqual({ ...isgd, update: 'adam', step0: 0.1, stepSchedule: 'constant' });
    expect(STOCHASTIC_MAID_DEFAULTS).toEqual({ ...MAID_DEFAULTS, batchSize: 4, noiseRatio: 1, maxEpochs: 0, shuffle: 1, seed: 0, costScaling: 'per-image' });
    expect(DFO_DEFAULTS).toEqual({
      radius0: 1, radiusMin: 1e-3, radiusMax: 10, eta1: 0.1, eta2: 0.7, shrink: 0.5, grow: 2, epsilon0: 3e-4, noiseRatio: 0.25, atFloor: 'clamp',
    });
    expect(FIXED_ACCURACY_DEFAULTS).toEqual({
      epsilon: 1e-5, delta: 1e-5, step0: 1e-2, lambda: 1e-4, backtrack: 0.5, stepGrow: 10 / 9, maxBacktracks: 20, gradTol: 0, relGradTol: 1e-4,
      metric: 'identity', metricMemory: 8,
    });
    // The plugins given no options build exactly the defaults (seeds: the experiment's).
    expect((make('maid') as Maid).options).toEqual(MAID_DEFAULTS);
    expect((make('hoag') as Hoag).options).toEqual(HOAG_DEFAULTS);
    expect((make('isgd') as Isgd).options).toEqual({ ...ISGD_DEFAULTS, seed: 7 });
    expect((make('adam-hypergradient') as Isgd).options).toEqual({ ...ADAM_DEFAULTS, seed: 7 });
    expect((make('stochastic-maid') as StochasticMaid).options).toEqual({ ...STOCHASTIC_MAID_DEFAULTS, seed: 7 });
    expect((make('dfo') as Dfo).options).toEqual(DFO_DEFAULTS);
    expect((make('fixed-accuracy-gd') as FixedAccuracyDescent).options).toEqual(FIXED_ACCURACY_DEFAULTS);
    for (const s of [MAID_SCHEMA, HOAG_SCHEMA, ISGD_SCHEMA, ADAM_SCHEMA, STOCHASTIC_MAID_SCHEMA, DFO_SCHEMA, FIXED_ACCURACY_SCHEMA]) expect(s.safeParse({}).success).toBe(true);
  });

  it('fills context-dependent defaults: the experiment seed, and ε₀, δ₀ from a custom schedule', () => {
    expect((make('isgd', { seed: 3 }) as Isgd).options.seed).toBe(3);
    expect((make('stochastic-maid') as StochasticMaid).options.seed).toBe(7);
    expect((make('stochastic-maid', { seed: 0 }) as StochasticMaid).options.seed).toBe(0);
    const custom = (make('hoag', { schedule: 'custom', epsilons: [0.3, 0.2] }) as Hoag).options;
    expect([custom.epsilon0, custom.delta0]).toEqual([0.3, 0.3]);
    expect(hoagOptions(HOAG_SCHEMA.parse({ schedule: 'custom', epsilons: [0.3], delta0: 0.05 }))).toMatchObject({ epsilon0: 0.3, delta0: 0.05 });
  });

  it('rejects unknown and invalid options with the JSON path and a fix', () => {
    expect(() => make('hoag', { schedul: 'cubic' })).toThrow(/optimizer\.options\.schedul: unknown option\n {2}→ remove it; known options: schedule, /);
    expect(() => make('hoag', { schedule: 'quartic' })).toThrow(/"geometric" \| "quadratic" \| "cubic" \| "custom"/);
    expect(() => make('hoag', { schedule: 'custom' })).toThrow(/optimizer\.options\.epsilons: the custom schedule needs a non-empty list/);
    expect(() => make('hoag', { epsilons: [0.1] })).toThrow(/optimizer\.options\.epsilons: only used by schedule "custom"/);
    expect(() => make('isgd', { batchSize: 0 })).toThrow(/optimizer\.options\.batchSize: must be ≥ 1, got 0\n {2}→ choose a larger batchSize/);
    expect(() => make('isgd', { shuffle: 0.5 })).toThrow(/optimizer\.options\.shuffle: expected an integer, got 0\.5/);
    expect(() => make('isgd', { beta1: 0.9 })).toThrow(/unknown option/);
    expect(() => make('adam-hypergradient', { beta1: 1.5 })).toThrow(/optimizer\.options\.beta1: must be ≤ 0\.999999/);
    expect(() => make('stochastic-maid', { shrink: 1 })).toThrow(/optimizer\.options\.shrink: must be ≤ 0\.999999/);
    expect(() => make('maid', { eta: 0 })).toThrow(/optimizer\.options\.eta: must be > 0, got 0/);
    expect(() => make('maid', { step0: 'big' })).toThrow(/optimizer\.options\.step0: expected a finite number, got "big"\n {2}→ set step0 to a number/);
    expect(make('maid', { lambda: 0, gradTol: 0, stepCap: 0 }).name).toBe('maid');
    expect(() => make('dfo', { eta1: 0.8, eta2: 0.5 })).toThrow(/optimizer\.options\.eta2: must be ≥ eta1 \(0\.8\)/);
    expect(() => make('dfo', { radiusMin: 2 })).toThrow(/radius0: needs radiusMin < radius0 ≤ radiusMax/);
    // A cross-field rule is checked once the fields it compares are valid.
    expect(() => make('dfo', { eta1: 1 })).toThrow(/^config optimizer\.options\.eta1: must be ≤ 0\.999999, got 1\n/);
  });
});
