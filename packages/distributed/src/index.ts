/**
 * {@include ../README.md}
 *
 * @module @bilevel/distributed
 */
export * from './engine.js';
export * from './store.js';
export * from './protocol.js';
export * from './plugins.js';
export * from './shard-runner.js';
export * from './transport.js';
export * from './queue-transport.js';
export * from './distributed-oracle.js';
export * from './use-engine.js';
export * from './worker.js';
export * from './redis-server.js';
export { SWEEP_JOB_SCHEMA, runSweepJob, type SweepJob } from './sweep-job.js';
export { storedResult, type SweepJobContext, type SweepProgress, type SweepResult } from './sweep-job.js';
export { checkpointSlot, sweepKeys, type CheckpointSlot, type SavedCheckpoint, type SavedProgress } from './sweep-checkpoint.js';
export * from './sweep-spec.js';
export * from './sweep.js';
export * from './version.js';
