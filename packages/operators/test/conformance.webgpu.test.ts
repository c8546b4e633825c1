import { afterAll, describe, expect, it } from 'vitest';
import { PluginRegistry, readScalars, tf, type ImageBatch, type Options } from '@bilevel/core';
import { assertConformance, memoryCheck, operatorConformance } from '@bilevel/testing';
import { operatorPlugins } from '@bilevel/operators';

// The webgpu group (vitest.webgpu.config.ts): the operator suite of conformance.test.ts on the webgpu backend, at
// small sizes, with the wasm tolerances (adjoint and linearity 1e-5: measured ≤ 6e-8 on lavapipe).
const registry = new PluginRegistry(operatorPlugins);
const measured: string[] = [];
afterAll(() => {
  if (measured.length) console.log(`webgpu: adjoint / linearity errors:\n  ${measured.join('\n  ')}`);
});

async function conform(name: string, options: Options, imageShape: [number, number]): Promise<void> {
  const op = registry.create('operator', name, options, { imageShape, seed: 0 }, 'operator.options');
  const report = await operatorConformance(op);
  const linear = report.checks.find((c) => c.name.includes('linearity'));
  const adjoint = report.checks.find((c) => c.name.includes('adjoint'));
  measured.push(`${name} ${JSON.stringify(options)} ${imageShape.join('×')}: ${adjoint?.error.toExponential(2)} / ${linear?.error.toExponential(2)}`);
  await assertConformance(report);
  const y = tf.tidy(() => op.apply(tf.randomNormal([2, ...imageShape, 1], 0, 1, 'float32', 3) as ImageBatch));
  await assertConformance({ subject: name, passed: true, checks: [memoryCheck(`${name}: naiveReconstruction`, () => op.naiveReconstruction(y))] });
  const back = op.naiveReconstruction(y);
  expect(back.shape).toEqual([2, ...imageShape, 1]);
  const [finite] = await readScalars(tf.tidy(() => tf.sum(tf.cast(tf.isFinite(back), 'float32'))));
  expect(finite).toBe(back.size);
  tf.dispose([y, back]);
  (op as { dispose?: () => void }).dispose?.();
}

describe('webgpu: every registered operator passes the shared conformance suite', () => {
  for (const name of registry.names('operator')) {
    it(`${name}: adjoint, linearity, norm estimate, memory (defaults, 12×10)`, () => conform(name, {}, [12, 10]));
  }
});

describe('webgpu: blur over every boundary and kernel kind, radon over two geometries', () => {
  const variants: [string, Options, [number, number]][] = [];
  for (const boundary of ['reflect', 'zero', 'periodic']) {
    variants.push(['blur', { kernel: 'gaussian', size: 5, sigma: 1, boundary }, [12, 10]]);
    variants.push(['blur', { kernel: 'motion', length: 7, angle: 30, boundary }, [11, 13]]);
    variants.push(['blur', { kernel: 'custom', weights: [0.1, 0.5, -0.2, 0.05, 0.3, 0.0, 0.7, 0.2, 0.1, 0.4, -0.3, 0.2, 0.6, 0.1, 0.0, 0.25], boundary }, [3, 5]]);
  }
  variants.push(['radon', { angles: 12, detectors: 17, detectorSpacing: 1.7 }, [12, 12]]);
  variants.push(['radon', { angleList: [0, 13, 45, 90, 135, 179.5], detectors: 15, detectorSpacing: 0.6, filter: 'hann' }, [10, 12]]);
  for (const [name, options, shape] of variants) it(`${name} ${JSON.stringify(options)} on ${shape.join('×')}`, () => conform(name, options, shape));
});
