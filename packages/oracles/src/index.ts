/**
 * {@include ../README.md}
 *
 * @module @bilevel/oracles
 */
export * from './common.js';
export * from './lipschitz.js';
export * from './in-process.js';
export * from './sharded/shards.js';
export * from './sharded/reduce.js';
export * from './sharded/split.js';
export * from './sharded/factory.js';
export { WorkerError, WorkerPool, type WorkerInit } from './sharded/pool.js';
export * from './sharded/sharded-oracle.js';
export * from './piggyback/operator.js';
export * from './piggyback/oracle.js';
