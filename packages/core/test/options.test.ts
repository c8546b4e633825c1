import { describe, expect, it } from 'vitest';
import { addOptionIssue, ConfigError, ConfigErrors, definePlugin, optionDocs, optionsJsonSchema, parseOptions, z } from '@bilevel/core';

const flat = z.strictObject({
  n: z.number().int().min(1).max(9).default(3).describe('a count'),
  mode: z.enum(['a', 'b']).default('a').describe('a mode'),
  list: z.array(z.number()).min(1).optional().describe('a list'),
  start: z.number().optional().meta({ default: 0 }).describe('excluded by list'),
}).superRefine((o, ctx) => {
  if (o.list && o.start !== undefined) addOptionIssue(ctx, 'start', 'cannot be combined with list', 'remove start or list');
});

const union = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('one').default('one').describe('"one" | "two"'), w: z.number().gt(0).default(1).describe('a weight') }),
  z.strictObject({ kind: z.literal('two'), len: z.number().default(9).describe('a length') }),
]);

/** The ConfigError (or the issues of ConfigErrors) thrown by `f`. */
function issues(f: () => unknown): { path: string; problem: string; fix: string }[] {
  try {
    f();
  } catch (e) {
    if (e instanceof ConfigError) return [{ path: e.path, problem: e.problem, fix: e.fix }];
    if (e instanceof ConfigErrors) return [...e.issues];
    throw e;
  }
  return [];
}

describe('parseOptions: one schema gives defaults and errors naming the field and the fix', () => {
  it('fills in defaults, keeps documented-only defaults out', () => {
    expect(parseOptions(flat, {}, 'p')).toEqual({ n: 3, mode: 'a' });
  });
  it('reports bounds, types, choices, unknown keys and cross-field rules at path.key', () => {
    expect(issues(() => parseOptions(flat, { n: 10 }, 'x.options'))).toEqual([{ path: 'x.options.n', problem: 'must be ≤ 9, got 10', fix: 'choose a smaller n' }]);
    expect(issues(() => parseOptions(flat, { n: 1.5 }, 'p'))[0].problem).toBe('expected an integer, got 1.5');
    expect(issues(() => parseOptions(flat, { mode: 'c' }, 'p'))[0]).toEqual({ path: 'p.mode', problem: 'expected one of "a" | "b", got "c"', fix: 'set mode to one of "a", "b"' });
    expect(issues(() => parseOptions(flat, { typo: 1 }, 'p'))[0]).toEqual({ path: 'p.typo', problem: 'unknown option', fix: 'remove it; known options: n, mode, list, start' });
    expect(issues(() => parseOptions(flat, { list: [1], start: 2 }, 'p'))[0]).toEqual({ path: 'p.start', problem: 'cannot be combined with list', fix: 'remove start or list' });
    expect(issues(() => parseOptions(flat, { list: [] }, 'p'))[0].path).toBe('p.list');
    expect(issues(() => parseOptions(flat, { n: 0, typo: 1 }, 'p')).map((i) => i.path)).toEqual(['p.n', 'p.typo']);
  });
  it('a discriminated union: the default variant, the selected variant\'s known keys, bad discriminators', () => {
    expect(parseOptions(union, {}, 'p')).toEqual({ kind: 'one', w: 1 });
    expect(parseOptions(union, { kind: 'two' }, 'p')).toEqual({ kind: 'two', len: 9 });
    expect(issues(() => parseOptions(union, { kind: 'two', w: 2 }, 'p'))[0]).toEqual({ path: 'p.w', problem: 'unknown option', fix: 'remove it; known options: kind, len' });
    expect(issues(() => parseOptions(union, { kind: 'three' }, 'p'))[0]).toEqual({ path: 'p.kind', problem: 'expected one of "one" | "two", got "three"', fix: 'set kind to one of "one", "two"' });
  });
});

describe('optionDocs, optionsJsonSchema, definePlugin', () => {
  it('lists every variant\'s options once, with parsed or documented defaults', () => {
    expect(optionDocs(union)).toEqual([
      { name: 'kind', description: '"one" | "two"', default: 'one' },
      { name: 'w', description: 'a weight', default: 1 },
      { name: 'len', description: 'a length', default: 9 },
    ]);
    expect(optionDocs(flat).find((o) => o.name === 'start')?.default).toBe(0);
  });
  it('JSON Schema of the input side: strict, with defaults and bounds', () => {
    const s = optionsJsonSchema(flat) as { additionalProperties: boolean; properties: Record<string, Record<string, unknown>> };
    expect(s.additionalProperties).toBe(false);
    expect(s.properties.n).toMatchObject({ type: 'integer', minimum: 1, maximum: 9, default: 3 });
    expect(s.properties.start.default).toBe(0);
    expect((optionsJsonSchema(union).oneOf as unknown[]).length).toBe(2);
  });
  it('definePlugin: the listing and create come from the schema', () => {
    const d = definePlugin({ kind: 'fidelity', name: 'test', description: 'd', schema: flat, create: (o) => ({ o }) as never });
    expect(d.options).toEqual({ n: 'a count (default 3)', mode: 'a mode (default a)', list: 'a list', start: 'excluded by list (default 0)' });
    expect(d.create({ n: 4 }, { imageShape: [4, 4], seed: 0 }, 'fidelity.options')).toEqual({ o: { n: 4, mode: 'a' } });
    expect(() => d.create({ n: 0 }, { imageShape: [4, 4], seed: 0 }, 'fidelity.options')).toThrow(/config fidelity\.options\.n: must be ≥ 1, got 0\n {2}→ choose a larger n/);
  });
});
