#!/usr/bin/env node
// tools/compare/icnn-tv-start.mjs: an ICNN config that starts at a learned TV (tvStart of @bilevel/regularizers-icnn).
// Reads θ_TV from a `tv` run's theta.json and writes CONFIG with its regularizer replaced by the ICNN whose θ₀ is that
// TV (channels [4, 1], symmetric boundary, gain and scale from θ_TV; docs/models.md "Starting at a learned TV").
//
//   npx tsc -b && node tools/compare/icnn-tv-start.mjs runs/ct-tv examples/ct-icnn.json --size 5 [--smoothing 0.05] \
//        [--diagonals 0] [--out runs/ct-icnn.json]
//
// --diagonals δ > 0 adds the diagonal differences at δ times the weight (channels [8, 1]).
//
// Without --out the config goes to stdout.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tvStart } from '@bilevel/regularizers-icnn';
import { parseArgs } from './lib.mjs';

/** θ_TV of a `tv` run folder (or a theta.json file). */
export function tvTheta(path) {
  const file = existsSync(join(path, 'theta.json')) ? join(path, 'theta.json') : path;
  if (!existsSync(file)) throw new Error(`no theta.json at "${path}": pass the --out folder of a finished \`bilevel run\` with "regularizer": "tv"`);
  const saved = JSON.parse(readFileSync(file, 'utf8'));
  if (saved.regularizer !== 'tv') throw new Error(`${file} holds a "${saved.regularizer}" θ: tvStart needs the θ of the anisotropic "tv" regularizer`);
  return saved.theta;
}

/** CONFIG with its regularizer the ICNN that starts at θ_TV (other ICNN options of CONFIG kept unless tvStart sets them). */
export function icnnAtTv(config, theta, o = {}) {
  const keep = config.regularizer?.name === 'icnn' ? config.regularizer.options ?? {} : {};
  return { ...config, regularizer: { name: 'icnn', options: { ...keep, ...tvStart(theta, o) } } };
}

function main() {
  const { positional, flags } = parseArgs(process.argv.slice(2));
  if (positional.length !== 2) {
    console.error('usage: node tools/compare/icnn-tv-start.mjs TV_RUN_DIR CONFIG.json [--size 3] [--smoothing 0.05] [--diagonals 0] [--out FILE]');
    process.exit(2);
  }
  const o = {};
  for (const key of ['size', 'smoothing', 'diagonals']) if (flags[key] !== undefined) o[key] = Number(flags[key]);
  const config = icnnAtTv(JSON.parse(readFileSync(positional[1], 'utf8')), tvTheta(positional[0]), o);
  const text = `${JSON.stringify(config, null, 2)}\n`;
  if (typeof flags.out === 'string') writeFileSync(flags.out, text);
  else process.stdout.write(text);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    main();
  } catch (e) {
    console.error(`icnn-tv-start: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  }
}
