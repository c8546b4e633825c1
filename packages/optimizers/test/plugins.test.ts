import { describe, expect, it } from 'vitest';
import { createContainer, PluginRegistry } from '@bilevel/core';
import { Dfo, Hoag, Isgd, optimizersModule, StochasticMaid } from '@bilevel/optimizers';

const registry = PluginRegistry.fromContainer(createContainer([optimizersModule]));
const ctx = { imageShape: [16, 16] as const, seed: 7 };
const make = (name: string, options: Record<string, unknown> = {}) => registry.create('optimizer', name, options, ctx, 'optimizer.options');

describe('optimizer plugins', () => {
  it('registers hoag, isgd, adam-hypergradient, stochastic-maid and dfo with documented options', () => {
    for (const name of ['maid', 'hoag', 'isgd', 'adam-hypergradient', 'stochastic-maid', 'dfo', 'fixed-accuracy-gd']) {
      expect(registry.names('optimizer')).toContain(name);
      expect(Object.keys(registry.descriptor('optimizer', name).options ?? {}).length).toBeGreaterThan(3);
    }
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

  it('rejects unknown and invalid options with the JSON path and a fix', () => {
    expect(() => make('hoag', { schedul: 'cubic' })).toThrow(/optimizer\.options\.schedul: unknown option/);
    expect(() => make('hoag', { schedule: 'quartic' })).toThrow(/geometric \| quadratic \| cubic \| custom/);
    expect(() => make('hoag', { schedule: 'custom' })).toThrow(/optimizer\.options\.epsilons/);
    expect(() => make('isgd', { batchSize: 0 })).toThrow(/optimizer\.options\.batchSize/);
    expect(() => make('isgd', { beta1: 0.9 })).toThrow(/unknown option/);
    expect(() => make('adam-hypergradient', { beta1: 1.5 })).toThrow(/optimizer\.options\.beta1/);
    expect(() => make('stochastic-maid', { shrink: 1 })).toThrow(/optimizer\.options\.shrink/);
    expect(() => make('dfo', { eta1: 0.8, eta2: 0.5 })).toThrow(/optimizer\.options\.eta2/);
    expect(() => make('dfo', { radiusMin: 2 })).toThrow(/radius0/);
  });
});
