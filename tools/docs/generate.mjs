// Writes the generated pages of the docs site (docs/generated/, git-ignored) before TypeDoc builds it:
// the config reference from the schema and the plugins, the results page from docs/data/. Needs `tsc -b` first.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as core from '@bilevel/core';
import { configJsonSchema, defaultRegistry, experimentSchema, ORACLE_CHOICES } from '@bilevel/experiment';
import { configReference } from './config-reference.mjs';
import { resultsPage } from './results.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const OUT = join(ROOT, 'docs/generated');

/** Every choice field of a config with what it can name (plugin descriptors, or the oracle choices). */
async function choiceFields() {
  const registry = await defaultRegistry();
  const choices = Object.fromEntries(core.PLUGIN_KINDS.map((k) => [k, registry.names(k).map((n) => registry.descriptor(k, n))]));
  return { registry, choices: { ...choices, oracle: ORACLE_CHOICES } };
}

/** The values every omitted field takes: the smallest valid config, parsed, less the fields it has to give. */
function parsedDefaults() {
  const { data: _data, regularizer: _regularizer, ...rest } = experimentSchema.parse({
    data: { train: { source: 'synthetic', count: 1, size: [8, 8] }, noise: { sigma: 0 } },
    regularizer: { name: 'tv' },
  });
  return rest;
}

const json = (p) => JSON.parse(readFileSync(join(ROOT, p), 'utf8'));
const { registry, choices } = await choiceFields();
mkdirSync(OUT, { recursive: true });
const pages = {
  'config-reference.md': configReference({ schema: configJsonSchema(registry), choices, core, parsed: parsedDefaults() }),
  'results.md': resultsPage({ results: json('docs/data/results.json'), bench: json('docs/data/bench-results.json') }),
};
for (const [name, text] of Object.entries(pages)) writeFileSync(join(OUT, name), text);
process.stderr.write(`docs/generated: ${Object.keys(pages).join(', ')}\n`);
