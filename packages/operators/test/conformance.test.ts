import { describe, it } from 'vitest';
import { PluginRegistry } from '@bilevel/core';
import { assertConformance, operatorConformance } from '@bilevel/testing';
import { operatorPlugins } from '@bilevel/operators';

const registry = new PluginRegistry(operatorPlugins);

describe('every registered operator passes the shared conformance suite', () => {
  for (const name of registry.names('operator')) {
    it(`${name}: adjoint, linearity, norm estimate, memory`, () => {
      const op = registry.create('operator', name, {}, { imageShape: [24, 20], seed: 0 }, 'operator.options');
      assertConformance(operatorConformance(op));
    });
  }
});
