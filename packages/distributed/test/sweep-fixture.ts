// Shared by the sweep tests: a small synthetic config, a job run alone, temp folders.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf } from '@bilevel/core';
import { buildExperiment, DEFAULT_CONFIG, runExperiment } from '@bilevel/experiment';
import type { SweepJob } from '@bilevel/distributed';

/** The embedded TV experiment on `count` + 2 generated size×size images, `iterations` outer iterations. */
export const tvConfig = (iterations: number, size = 32, count = 4) => ({
  ...structuredClone(DEFAULT_CONFIG),
  data: {
    ...DEFAULT_CONFIG.data,
    train: { ...DEFAULT_CONFIG.data.train, count, size: [size, size] },
    test: { ...DEFAULT_CONFIG.data.test, count: 2, size: [size, size] },
  },
  budget: { maxIterations: iterations },
});

/** Two overrides: the base, and TV started at θ₀ = (−4, −4). */
export const OVERRIDES = [{ label: 'a', set: {} }, { label: 'b', set: { regularizer: { theta0: [-4, -4] } } }];

export const tempDir = () => mkdtempSync(join(tmpdir(), 'bilevel-sweep-'));

/** θ of the job's config run alone (buildExperiment + runExperiment, no sweep machinery). */
export async function alone(job: SweepJob): Promise<number[]> {
  const e = await buildExperiment(job.config, { baseDir: job.baseDir });
  const r = await runExperiment(e);
  tf.dispose([r.images.train.input, r.images.train.learned, ...(r.images.test ? [r.images.test.input, r.images.test.learned] : [])]);
  await e.dispose();
  return r.theta;
}
