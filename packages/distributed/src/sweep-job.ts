// Placeholder until the sweep runner lands: the schema of a sweep job and its runner.
import { BilevelError, z, type PluginRegistry } from '@bilevel/core';
import type { ArrayStore } from './store.js';

export const SWEEP_JOB_SCHEMA = z.strictObject({ name: z.string(), config: z.unknown(), seed: z.number().int() });
export type SweepJob = z.infer<typeof SWEEP_JOB_SCHEMA>;

export interface SweepJobContext {
  store: ArrayStore;
  registry: PluginRegistry;
  plugins: readonly string[];
  progress(p: number | object): Promise<void>;
}

export async function runSweepJob(_job: SweepJob, _ctx: SweepJobContext): Promise<unknown> {
  throw new BilevelError('sweep jobs are not served yet', 'update bilevel on the worker');
}
