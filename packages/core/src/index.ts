/**
 * {@include ../README.md}
 *
 * @module @bilevel/core
 */
import 'reflect-metadata';

export * from './tensor.js';
export * from './read.js';
export * from './random.js';
export * from './errors.js';
export * from './options.js';
export * from './define-plugin.js';
export * from './backend.js';
export * from './registry.js';
export * from './metrics.js';
export * from './fused.js';
export * from './problem.js';
export * from './upper.js';
export type * from './contracts/operator.js';
export type * from './contracts/regularizer.js';
export type * from './contracts/fidelity.js';
export type * from './contracts/solvers.js';
export type * from './contracts/optimizer.js';
export type * from './contracts/oracle.js';
export type * from './contracts/data.js';
export * from './driver/stop-rules.js';
export * from './driver/run.js';
export * from './hypergradient/bounds.js';
export { machineEpsilon } from './precision.js';
export type { PluginContext, PluginDescriptor, PluginKind, PluginKinds } from './contracts/plugin.js';
export { PLUGIN_KINDS } from './contracts/plugin.js';
export { ContainerModule } from 'inversify';
