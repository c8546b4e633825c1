import { describe, expect, it } from 'vitest';
import { ConfigErrors, TOKENS, tf, type Oracle, type OuterOptimizer, type Regularizer } from '@bilevel/core';
import { IsotropicTV } from '@bilevel/regularizers-tv';
import { buildExperiment, decodeCheckpoint, encodeCheckpoint, parseConfig, runExperiment, type Experiment } from '@bilevel/experiment';
import { tinyConfig } from './optimizer-configs.js';

async function finish(e: Experiment, r: Awaited<ReturnType<typeof runExperiment>>): Promise<void> {
  tf.dispose([r.images.train.input, r.images.train.learned, ...(r.images.test ? [r.images.test.input, r.images.test.learned] : [])]);
  await e.dispose();
}

describe('composition on the inversify container', () => {
  it('binds every part from the config; spec() resolves the same singletons', async () => {
    const e = await buildExperiment(tinyConfig('maid'));
    for (const t of ['operator', 'fidelity', 'regularizer', 'lowerSolver', 'linearSolver', 'optimizer', 'oracle', 'theta0', 'train', 'evaluator'] as const) {
      expect(e.container.isBound(TOKENS[t]), t).toBe(true);
    }
    const a = await e.spec(), b = await e.spec();
    expect(a.regularizer).toBe(b.regularizer);
    expect(a.train).toBe(b.train);
    expect([a.operator.name, a.regularizer.name, a.lowerSolver.name, a.optimizer.name]).toEqual(['identity', 'tv', 'fista', 'maid']);
    expect(Array.from(a.theta0)).toEqual([-4, -4.5]);
    // The oracle binding is transient: a fresh oracle per resolution.
    const [o1, o2] = [await e.oracle(), await e.oracle()];
    expect(o1).not.toBe(o2);
    await o1.dispose();
    await o2.dispose();
    await e.dispose();
  });

  it('a user rebinds the regularizer, the optimizer and the oracle in code before a run, and the run uses them', async () => {
    const e = await buildExperiment(tinyConfig('maid', 3));
    e.container.rebind(TOKENS.regularizer).toConstantValue(new IsotropicTV());
    const built = (await e.container.getAsync<OuterOptimizer>(TOKENS.optimizer));
    let steps = 0;
    const counting: OuterOptimizer = { ...built, name: 'counting-maid', init: (t, o) => built.init(t, o), theta: (s) => built.theta(s), step: (o, s, c) => { steps++; return built.step(o, s, c); } };
    e.container.rebind(TOKENS.optimizer).toConstantValue(counting);
    let evaluations = 0;
    const inner = await e.oracle();
    const wrapped = new Proxy(inner, {
      get(target, p) {
        if (p === 'evaluate') return (...args: Parameters<Oracle['evaluate']>) => { evaluations++; return target.evaluate(...args); };
        const v: unknown = Reflect.get(target, p, target);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    e.container.rebind(TOKENS.oracle).toConstantValue(wrapped);
    const spec = await e.spec();
    expect(spec.regularizer).toBeInstanceOf(IsotropicTV);
    expect(spec.optimizer.name).toBe('counting-maid');
    const r = await runExperiment(e);
    expect(r.iterations).toBe(3);
    expect(steps).toBeGreaterThanOrEqual(3);
    expect(evaluations).toBeGreaterThan(0);
    await finish(e, r);
  });

  it('θ₀ and the measurements follow a rebound regularizer (reference initialisation when the config gives no θ₀)', async () => {
    const config = { ...tinyConfig('maid'), regularizer: { name: 'tv' } };
    const e = await buildExperiment(config);
    const other: Regularizer = new IsotropicTV();
    e.container.rebind(TOKENS.regularizer).toConstantValue(other);
    expect(Array.from((await e.spec()).theta0)).toEqual(Array.from(other.initialTheta(3), Number));
    await e.dispose();
  });

  it('reports every plugin-level problem at once: unknown plugins, bad options, θ₀ length, unknown oracle', async () => {
    const bad = { ...tinyConfig('maid'), regularizer: { name: 'tvv' }, lowerSolver: { name: 'fista', options: { maxIter: 3 } }, oracle: 'redis' };
    const err = await buildExperiment(bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigErrors);
    const paths = (err as ConfigErrors).issues.map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['regularizer.name', 'oracle.name']));
    expect(paths.some((p) => p.startsWith('lowerSolver.options'))).toBe(true);
    const length = await buildExperiment({ ...tinyConfig('maid'), regularizer: { name: 'tv', theta0: [1, 2, 3] } }).catch((e: unknown) => e);
    expect((length as ConfigErrors).issues.map((i) => i.path)).toEqual(['regularizer.theta0']);
    expect(() => parseConfig({ data: tinyConfig('maid').data })).toThrow(/regularizer: missing/);
  });

  it('runs leak no tensors (two runs of one experiment)', async () => {
    const e = await buildExperiment(tinyConfig('maid', 2));
    await e.spec();
    const before = tf.memory().numTensors;
    for (let k = 0; k < 2; k++) {
      const r = await runExperiment(e);
      tf.dispose([r.images.train.input, r.images.train.learned]);
    }
    expect(tf.memory().numTensors).toBe(before);
    await e.dispose();
  });
});

describe('checkpoint encoding', () => {
  it('keeps every bit: typed arrays, NaN, ±Infinity, −0 and nested optimizer state', () => {
    const x = Float32Array.from([1.5, -0, 3e-38, Number.NaN]);
    const c = {
      iterations: 4,
      optimizer: { theta: Float64Array.from([Math.PI, -1e-300]), best: Number.POSITIVE_INFINITY, omega: Number.NaN, z: -0, list: [1, 2], nested: { a: Number.NEGATIVE_INFINITY } },
      oracle: {
        x, q: null, counters: { lowerIterations: 1, cgIterations: 2, lowerSeconds: 0.5, cgSeconds: 0.25, probeWork: 3 },
        lipschitz: { jacobianNorm: 1, lipschitzJ: 2, lipschitzHessian: 3, seed: 7, direction: [0.1, 0.2] },
        accepted: { value: 0.5, upperGradNorm: 0.1, theta: [-4, -4.5], lower: { iterations: 3, gradNorm: 1e-3, certifiedError: Number.POSITIVE_INFINITY, stop: 'certified' as const } },
        extra: { y: Float32Array.from([2, 4]), n: 3 },
      },
    };
    const back = decodeCheckpoint(encodeCheckpoint(c));
    expect(back).toEqual(c);
    expect(Object.is((back.optimizer as { z: number }).z, -0)).toBe(true);
    expect(back.oracle.x).toBeInstanceOf(Float32Array);
    expect(Buffer.from(back.oracle.x.buffer).equals(Buffer.from(x.buffer))).toBe(true);
    expect(() => decodeCheckpoint('{"version": 1}')).toThrow(/format 1/);
  });
});

describe('JSON Schema of configs', () => {
  it('lists every plugin of each field with its options (bilevel schema)', async () => {
    const { configJsonSchema, defaultRegistry } = await import('@bilevel/experiment');
    const schema = configJsonSchema(await defaultRegistry()) as { properties: Record<string, { anyOf: { properties?: { name: { const: string }; options: unknown } }[] }> };
    const names = (field: string) => schema.properties[field].anyOf.flatMap((s) => (s.properties ? [s.properties.name.const] : []));
    expect(names('regularizer')).toEqual(expect.arrayContaining(['tv', 'tv-isotropic', 'foe']));
    expect(names('optimizer')).toEqual(expect.arrayContaining(['maid', 'hoag', 'dfo']));
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['data', 'oracle', 'budget']));
  });
});
