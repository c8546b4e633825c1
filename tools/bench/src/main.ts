import { writeFileSync } from 'node:fs';
import { useBackend } from '@bilevel/core';
import { benchEngine } from './engine.js';
import { machine, type BenchRecord } from './harness.js';
import { benchLowerSolvers } from './lower.js';
import { benchOperators } from './operators.js';
import { benchFoeSmallHypergradient, benchParallelCeiling } from './parallel.js';
import { benchPiggyback } from './piggyback.js';
import { benchRegularizers } from './regularizers.js';
import { benchLoggingOverhead, benchTvEndToEnd, benchTvGradient, benchTvHypergradient } from './tv.js';

/** Every suite, by the figure names it produces (filter with --filter on these names). */
const SUITES: { names: string[]; run: () => Promise<BenchRecord[]> }[] = [
  { names: ['tv.gradX.24x96x96', 'tv.hvpX.24x96x96'], run: benchTvGradient },
  { names: ['foe.gradX.4x128x128', 'foe.hvpX.4x128x128', 'foe.gradX.20x256x256'], run: benchRegularizers },
  { names: ['radon.applyAdjoint.256', 'blur.applyAdjoint.24x96x96'], run: () => benchOperators() },
  { names: ['piggyback.applyAdjoint.8x96x96', 'piggyback.iteration.8x96x96'], run: () => benchPiggyback() },
  { names: ['hypergrad.tv-kodak96'], run: benchTvHypergradient },
  { names: ['lower.tv-kodak96'], run: benchLowerSolvers },
  { names: ['hypergrad.foe-small', 'workers.foe-small.hypergrad.1', 'workers.foe-small.hypergrad.2'], run: benchFoeSmallHypergradient },
  { names: ['workers.ceiling.foe-small-gradX'], run: benchParallelCeiling },
  { names: ['engine.foe-small.hypergrad.1', 'engine.foe-small.hypergrad.2', 'engine.overhead.tv-kodak96', 'engine.overhead.foe-small'], run: benchEngine },
  { names: ['e2e.tv-kodak96.to27.6dB'], run: benchTvEndToEnd },
  { names: ['overhead.log-checkpoint.tv-kodak96'], run: benchLoggingOverhead },
];

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const backend = await useBackend(arg('backend'));
const filter = arg('filter');
const out = arg('out') ?? 'bench-results.json';
const results: BenchRecord[] = [];
for (const suite of SUITES) {
  if (filter && !suite.names.some((n) => n.includes(filter))) continue;
  for (const figure of await suite.run()) {
    // Every figure records the machine it was measured on.
    const r: BenchRecord = { ...figure, machine: figure.machine ?? machine() };
    results.push(r);
    process.stdout.write(JSON.stringify(r) + '\n');
  }
}
writeFileSync(out, JSON.stringify(results, null, 2) + '\n');
process.stderr.write(`${results.length} figures on ${backend} (${JSON.stringify(machine())}) → ${out}\n`);
