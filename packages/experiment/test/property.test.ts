// Property: every JSON value given as a config either validates or is refused with the project's ConfigError /
// ConfigErrors naming a JSON path, never with anything else (TypeError, RangeError, …). fast-check, fixed seed.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, ConfigErrors, tf } from '@bilevel/core';
import { buildExperiment, parseConfig } from '@bilevel/experiment';

const SEED = 24;
const VALID = {
  name: 'property',
  data: { train: { source: 'synthetic', count: 2, size: [16, 16], seed: 1 }, noise: { type: 'gaussian', sigma: 0.1 } },
  regularizer: { name: 'tv', theta0: [-5, -5] },
  optimizer: { name: 'maid', options: {} },
  budget: { maxIterations: 2 },
};
/** The dotted paths of VALID's fields (objects and leaves). */
function paths(o: unknown, prefix: string[] = []): string[][] {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return [prefix];
  return [...(prefix.length ? [prefix] : []), ...Object.entries(o).flatMap(([k, v]) => paths(v, [...prefix, k]))];
}
const FIELDS = paths(VALID);

/** VALID with the field at `path` replaced by `value`. */
function mutate(path: string[], value: unknown): unknown {
  const c = structuredClone(VALID) as Record<string, unknown>;
  let o = c;
  for (const k of path.slice(0, -1)) o = o[k] as Record<string, unknown>;
  o[path.at(-1)!] = value;
  return c;
}
/** Arbitrary JSON; plugin packages are not imported (a mutated "plugins" would import whatever it names). */
const json = fc.jsonValue({ maxDepth: 3 });
const mutation = fc.tuple(fc.constantFrom(...FIELDS), json).map(([path, value]) => mutate(path, value));

/** Throws unless `e` is a ConfigError / ConfigErrors naming at least one path. */
function expectConfigError(e: unknown, input: unknown): void {
  const shown = `${String(e)} for ${JSON.stringify(input)?.slice(0, 300)}`;
  if (e instanceof ConfigErrors) {
    expect(e.issues.length, shown).toBeGreaterThan(0);
    for (const i of e.issues) expect(i.path, shown).toMatch(/^(\$|\[|[A-Za-z_$][\w$-]*(\.|\[|,|$))/);
  } else {
    expect(e, shown).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).path, shown).not.toBe('');
  }
}

const params = (runs: number) => ({ seed: SEED, numRuns: runs, verbose: false });

describe(`config validation on arbitrary JSON (fast-check seed ${SEED})`, () => {
  it('parseConfig: any JSON value validates or throws ConfigError(s) with a path', () => {
    fc.assert(fc.property(fc.oneof(json, mutation), (input) => {
      try {
        parseConfig(input);
      } catch (e) {
        expectConfigError(e, input);
      }
    }), params(400));
  });

  it('buildExperiment: a valid config with one field replaced by arbitrary JSON builds or throws ConfigError(s)', async () => {
    let built = 0;
    await fc.assert(fc.asyncProperty(mutation, async (input) => {
      try {
        const x = await buildExperiment(input, { download: false });
        tf.dispose((await x.spec()).train.clean);
        built++;
      } catch (e) {
        expectConfigError(e, input);
      }
    }), params(150));
    // Some mutations stay valid (a name, a seed): those really were built.
    expect(built).toBeGreaterThan(0);
  }, 120_000);
});
