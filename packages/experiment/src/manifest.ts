import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { tf } from '@bilevel/core';

function version(pkg: string): string | undefined {
  try {
    // Made here, not at load: in a CommonJS bundle (tools/bench/gpu-pack.sh) import.meta.url is undefined.
    const require = createRequire(import.meta.url);
    // dist/index.js → the package folder (package.json is not an export of our packages).
    const file = join(dirname(require.resolve(pkg)), '..', 'package.json');
    return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    return undefined;
  }
}

function gitCommit(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Where a result came from: package versions, git commit and machine (summary.json `manifest`). */
export function runManifest(): { packages: Record<string, string | undefined>; gitCommit?: string; machine: Record<string, unknown> } {
  const packages = ['core', 'operators', 'regularizers-tv', 'convkit', 'regularizers-foe', 'regularizers-icnn', 'regularizers-crr', 'solvers', 'oracles', 'optimizers', 'datasets', 'experiment', 'cli'];
  return {
    packages: Object.fromEntries([
      ...packages.map((p) => [`@bilevel/${p}`, version(`@bilevel/${p}`)]),
      ['@tensorflow/tfjs-core', tf.version_core],
    ]),
    gitCommit: gitCommit(),
    machine: { cores: cpus().length, cpu: cpus()[0]?.model, memoryGiB: +(totalmem() / 2 ** 30).toFixed(1), node: process.version, platform: `${process.platform}-${process.arch}` },
  };
}
