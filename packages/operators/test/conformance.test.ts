import { afterAll, describe, expect, it } from 'vitest';
import { optionsJsonSchema, PluginRegistry, tf, type ImageBatch, type Options } from '@bilevel/core';
import { assertConformance, memoryCheck, operatorConformance, pluginOptionsCheck } from '@bilevel/testing';
import { operatorPlugins } from '@bilevel/operators';

const registry = new PluginRegistry(operatorPlugins);

/** Adjoint errors measured below, printed once at the end (for the record). */
const measured: string[] = [];
afterAll(() => {
  if (measured.length) console.log(`normalised adjoint errors |⟨Ax,y⟩−⟨x,Aᵀy⟩|/(‖A‖‖x‖‖y‖):\n  ${measured.join('\n  ')}`);
});

async function conform(name: string, options: Options, imageShape: [number, number]) {
  const op = registry.create('operator', name, options, { imageShape, seed: 0 }, 'operator.options');
  const report = await operatorConformance(op);
  const adjoint = report.checks.find((c) => c.name.includes('adjoint'));
  measured.push(`${name} ${JSON.stringify(options)} ${imageShape.join('×')}: ${adjoint?.error.toExponential(2)}`);
  await assertConformance(report);
  expect(adjoint!.error).toBeLessThanOrEqual(1e-5);
  // the naive reconstruction (the measurement for blur, FBP for radon) leaks nothing either
  const y = tf.tidy(() => op.apply(tf.randomNormal([2, ...imageShape, 1], 0, 1, 'float32', 3) as ImageBatch));
  await assertConformance({ subject: name, passed: true, checks: [memoryCheck(`${name}: naiveReconstruction`, () => op.naiveReconstruction(y))] });
  expect(op.naiveReconstruction(y).shape).toEqual([2, ...imageShape, 1]);
  y.dispose();
  (op as { dispose?: () => void }).dispose?.();
}

describe('every registered operator passes the shared conformance suite', () => {
  for (const name of registry.names('operator')) {
    it(`${name}: adjoint, linearity, norm estimate, memory`, async () => {
      const op = registry.create('operator', name, {}, { imageShape: [24, 20], seed: 0 }, 'operator.options');
      await assertConformance(operatorConformance(op));
    });
  }
});

// The same suite over the geometries and boundaries the issue names (float32, tolerance 1e-5).
const BLUR_VARIANTS: { options: Options; shape: [number, number] }[] = [];
for (const boundary of ['reflect', 'zero', 'periodic']) {
  BLUR_VARIANTS.push(
    { options: { kernel: 'gaussian', size: 5, sigma: 1, boundary }, shape: [24, 20] },
    { options: { kernel: 'motion', length: 7, angle: 30, boundary }, shape: [19, 23] },
    // non-symmetric, even-sized kernel wider than the image: reflect/periodic padding wraps more than once.
    { options: { kernel: 'custom', weights: [0.1, 0.5, -0.2, 0.05, 0.3, 0.0, 0.7, 0.2, 0.1, 0.4, -0.3, 0.2, 0.6, 0.1, 0.0, 0.25], boundary }, shape: [3, 5] },
  );
}

const RADON_VARIANTS: { options: Options; shape: [number, number] }[] = [
  { options: { angles: 32, detectors: 17, detectorSpacing: 1.7 }, shape: [16, 16] },
  { options: { angles: 25, detectors: 40 }, shape: [24, 20] },
  { options: { angles: 20, angleRange: 120, angleStart: 15 }, shape: [20, 20] },
  { options: { angleList: [0, 13, 45, 47.5, 90, 91, 135, 179.5, 250], detectors: 31, detectorSpacing: 0.6 }, shape: [18, 22] },
  { options: { angles: 12, detectors: 64, detectorSpacing: 0.5, pixelSize: 0.05, filter: 'hann' }, shape: [32, 32] },
];

describe('blur: every boundary and kernel kind', () => {
  for (const v of BLUR_VARIANTS) it(`${JSON.stringify(v.options)} on ${v.shape.join('×')}`, () => conform('blur', v.options, v.shape));
});

describe('radon: several geometries (detectors ≠ image size, limited angle, angle list, pixel size)', () => {
  for (const v of RADON_VARIANTS) it(`${JSON.stringify(v.options)} on ${v.shape.join('×')}`, () => conform('radon', v.options, v.shape));
});

describe('operator and data-term options are declared once (one zod schema per plugin)', () => {
  const ctx = { imageShape: [16, 16] as const, seed: 0 };
  for (const d of operatorPlugins) {
    it(`${d.kind} ${d.name}: schema, defaults, listing, JSON Schema, unknown keys`, async () => {
      await assertConformance({ subject: d.name, passed: true, checks: [pluginOptionsCheck(d, ctx)] });
    });
  }
  it('blur: the accepted fields depend on kernel (one JSON Schema variant per kernel); defaults come from the schema', () => {
    const blur = operatorPlugins.find((d) => d.name === 'blur')!;
    expect(blur.schema!.parse({})).toEqual({ kernel: 'gaussian', boundary: 'reflect', sigma: 1 });
    expect(blur.schema!.parse({ kernel: 'motion' })).toEqual({ kernel: 'motion', boundary: 'reflect', length: 9, angle: 0 });
    expect((optionsJsonSchema(blur.schema!).oneOf as unknown[]).length).toBe(3);
    expect(Object.keys(blur.options!)).toEqual(['kernel', 'boundary', 'size', 'sigma', 'length', 'angle', 'weights']);
    expect(blur.options!.length).toMatch(/\(default 9\)$/);
  });
  it('radon: angle defaults are documented but not filled in (angleList excludes them)', () => {
    const radon = operatorPlugins.find((d) => d.name === 'radon')!;
    expect(radon.schema!.parse({})).toEqual({ detectorSpacing: 1, pixelSize: 1, filter: 'ramp' });
    expect(radon.options!.angles).toMatch(/\(default 180\)$/);
    expect((optionsJsonSchema(radon.schema!).properties as Record<string, { default?: unknown }>).angles.default).toBe(180);
  });
});
