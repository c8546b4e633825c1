import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as core from '@bilevel/core';
import { configJsonSchema, defaultRegistry, experimentSchema, ORACLE_CHOICES } from '@bilevel/experiment';
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM helpers without type declarations
import { configReference } from '../config-reference.mjs';
// @ts-expect-error plain ESM helpers without type declarations
import { resultsPage } from '../results.mjs';

const ROOT = resolve(__dirname, '../../..');
const PACKAGES = readdirSync(join(ROOT, 'packages')).filter((p) => !p.startsWith('.'));
const json = (p: string) => JSON.parse(readFileSync(join(ROOT, p), 'utf8'));

/** The config reference as the docs build writes it, from the registry of built-in plugins. */
async function reference() {
  const registry = await defaultRegistry();
  const choices = Object.fromEntries(core.PLUGIN_KINDS.map((k) => [k, registry.names(k).map((n) => registry.descriptor(k, n))]));
  const parsed = experimentSchema.parse({ data: { train: { source: 'synthetic', count: 1, size: [8, 8] }, noise: { sigma: 0 } }, regularizer: { name: 'tv' } });
  const page: string = configReference({ schema: configJsonSchema(registry), choices: { ...choices, oracle: ORACLE_CHOICES }, core, parsed });
  return { page, registry };
}

describe('docs site sources', () => {
  it('the config reference has a section for every registered plugin with a row for each of its options', async () => {
    const { page, registry } = await reference();
    expect(page.startsWith('---\ntitle: Config reference\n')).toBe(true);
    for (const kind of core.PLUGIN_KINDS) {
      for (const name of registry.names(kind)) {
        const section = page.split(`\n### ${name}\n`)[1]?.split('\n### ')[0];
        expect(section, `${kind} ${name}`).toBeTruthy();
        const d = registry.descriptor(kind, name);
        for (const o of d.schema ? core.optionDocs(d.schema) : []) expect(section, `${name}.${o.name}`).toContain(`| \`${o.name}\` |`);
      }
    }
    for (const o of ORACLE_CHOICES) expect(page).toContain(`\n### ${o.name}\n`);
    // Every image source the schema accepts has its section (a const source by its value, a choice of names as one).
    const train = (configJsonSchema(registry) as { properties: { data: { properties: { train: { oneOf: { properties: { source: { const?: string; enum?: string[] } } }[] } } } } }).properties.data.properties.train;
    expect(train.oneOf.length).toBeGreaterThanOrEqual(3);
    for (const v of train.oneOf) {
      const source = v.properties.source;
      expect(page).toContain(source.const !== undefined ? `\n### source: ${source.const}\n` : `| \`"${source.enum![0]}"\``);
    }
    // The default plugin of a choice field comes from parsing, the fields from the schema.
    expect(page).toMatch(/\| `optimizer` \| .* \| `"maid"` \|/);
    expect(page).toMatch(/\| `data\.noise\.sigma` \| `number ≥ 0` \|/);
  });

  it('a field note for a field the schema does not have fails the build', async () => {
    const registry = await defaultRegistry();
    expect(() => configReference({ schema: configJsonSchema(registry), choices: {}, core, parsed: {}, notes: { 'budget.noSuchField': 'x' } }))
      .toThrow(/no such config field budget\.noSuchField/);
  });

  it('the results page has a row for every figure of docs/data and every bench record', () => {
    const results = json('docs/data/results.json'), bench = json('docs/data/bench-results.json');
    const page: string = resultsPage({ results, bench });
    expect(bench.length).toBeGreaterThan(0);
    for (const section of results.sections) {
      expect(page).toContain(`\n## ${section.title}\n`);
      for (const row of section.rows) expect(page).toContain(row.figure.replace(/\|/g, '\\|'));
    }
    for (const r of bench) expect(page).toMatch(new RegExp(`\\| \`${r.name.replace(/\./g, '\\.')}\` \\| ${r.skipped ? '—' : String(Number(r.medianMs.toPrecision(4)))} \\|`));
  });

  it('every package has a README, included as its API page, whose example runs as written', () => {
    for (const p of PACKAGES) {
      const index = readFileSync(join(ROOT, 'packages', p, 'src/index.ts'), 'utf8');
      expect(index, p).toContain(`{@include ../README.md}`);
      expect(index, p).toContain(`@module @bilevel/${p}`);
      const readme = readFileSync(join(ROOT, 'packages', p, 'README.md'), 'utf8');
      expect(readme.startsWith(`# @bilevel/${p}\n`), p).toBe(true);
      expect(readme.split('\n').length, `${p}: one screen`).toBeLessThanOrEqual(45);
      for (const [, block] of readme.matchAll(/```js\n([\s\S]*?)```/g)) {
        const file = join(ROOT, 'packages/cli/dist', `readme-${p}.test-tmp.mjs`);
        writeFileSync(file, block);
        try {
          const r = spawnSync(process.execPath, [file], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
          expect(r.status, `${p}: ${r.stderr}`).toBe(0);
          expect(r.stdout.trim(), p).not.toBe('');
        } finally {
          rmSync(file, { force: true });
        }
      }
    }
  });
});
