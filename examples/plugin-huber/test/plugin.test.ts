import { describe, expect, it } from 'vitest';
import { createContainer, PluginRegistry } from '@bilevel/core';
import { assertConformance, regularizerPluginConformance } from '@bilevel/testing';
import plugin, { plugin as named } from '../src/index.js';

describe('bilevel-plugin-huber', () => {
  it('passes the bilevel plugin kit in one call (FD gradient/HVP/mixed, curvature, convexity, memory, layout)', async () => {
    await assertConformance(regularizerPluginConformance(plugin, 'huber', { convex: true, thetas: [Float32Array.from([-2, -3]), Float32Array.from([0.3, -1.5])] }));
  });

  it('exports the same ContainerModule as default and as `plugin`, registering "huber"', () => {
    expect(named).toBe(plugin);
    expect(PluginRegistry.fromContainer(createContainer([plugin])).names('regularizer')).toEqual(['huber']);
  });
});
