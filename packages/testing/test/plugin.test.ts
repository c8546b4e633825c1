import { describe, expect, it } from 'vitest';
import { bindPlugins, ContainerModule, definePlugin, tf, z, type ImageBatch, type OptionsSchema, type PluginDescriptor, type Tensor1D } from '@bilevel/core';
import { AnisotropicTV, tvModule } from '@bilevel/regularizers-tv';
import { assertConformance, pluginOptionsCheck, regularizerPluginConformance } from '@bilevel/testing';

/** TV whose HVP is off by 10 %: the kit must catch it. */
class WrongHvp extends AnisotropicTV {
  override readonly name = 'wrong-hvp';
  override hvpX(x: ImageBatch, theta: Tensor1D, v: ImageBatch): ImageBatch {
    return tf.tidy(() => tf.mul(super.hvpX(x, theta, v), 1.1) as ImageBatch);
  }
}

const broken: PluginDescriptor<'regularizer'>[] = [
  { kind: 'regularizer', name: 'wrong-hvp', description: 'test double', parameterCount: 2, create: (o) => { if (Object.keys(o).length) throw new Error('unknown option'); return new WrongHvp(); } },
];

describe('regularizerPluginConformance: the one-call plugin kit', () => {
  const thetas = [Float32Array.from([-1, -2])];

  it('passes a correct plugin (TV) from its ContainerModule', async () => {
    const r = await regularizerPluginConformance(tvModule, 'tv', { thetas, convex: true });
    await assertConformance(r);
    expect(r.checks.map((c) => c.name)).toEqual(expect.arrayContaining(['tv: descriptor', 'tv: option schema', 'tv: parameter layout, initialTheta, curvature at θ₀']));
  });

  it('fails a plugin whose HVP is wrong, naming the check', async () => {
    const r = await regularizerPluginConformance(new ContainerModule((bind) => bindPlugins(bind, broken)), 'wrong-hvp', { thetas });
    expect(r.passed).toBe(false);
    await expect(assertConformance(r)).rejects.toThrow(/hvpX vs finite differences/);
  });

  it('reports an unknown regularizer name with the registered ones', async () => {
    await expect(regularizerPluginConformance(tvModule, 'nope')).rejects.toThrow(/tv/);
  });

  it('checks that options are declared once: a schema, defaults that parse and build, documented fields, strict keys', () => {
    const ctx = { imageShape: [8, 8] as const, seed: 0 };
    const make = (schema: OptionsSchema) => definePlugin({ kind: 'regularizer', name: 'double', description: 'test double', schema, create: () => new AnisotropicTV() });
    expect(pluginOptionsCheck(make(z.strictObject({ w: z.number().gt(0).default(1).describe('a weight') })), ctx).passed).toBe(true);
    expect(pluginOptionsCheck(broken[0], ctx).detail).toMatch(/no options schema/);
    expect(pluginOptionsCheck(make(z.object({ w: z.number().default(1).describe('a weight') })), ctx).detail).toMatch(/unknown option is accepted/);
    expect(pluginOptionsCheck(make(z.strictObject({ w: z.number().default(1) })), ctx).detail).toMatch(/option w has no \.describe/);
    expect(pluginOptionsCheck(make(z.strictObject({ w: z.number().describe('w') })), ctx).detail).toMatch(/schema\.parse\(\{\}\) fails/);
  });
});
