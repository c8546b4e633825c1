/**
 * {@include ../README.md}
 *
 * @module @bilevel/experiment
 */
export { parseConfig, type ExperimentConfig, type ImageSource, type NoiseSpec, type PluginChoice } from './config.js';
export { configJsonSchema, experimentSchema, imageSourceSchema, noiseSchema } from './schema.js';
export { builtinModules, defaultRegistry, importPluginModules } from './plugins.js';
export { composeContainer, initialTheta, type CleanImages, type NoiseModel } from './container.js';
export { buildExperiment, configDir, type BuildOptions } from './build.js';
export { Experiment, type ExperimentSpec, type ImagePairs, type SplitEvaluator, type SplitSolve } from './spec.js';
export { ORACLE_CHOICES, bindOracle, inProcessOracle, lowerSolverEvaluator, problemFor, problemParts, type OracleChoice, type ProblemParts } from './oracles.js';
export { PIGGYBACK_SCHEMA, bindPiggyback, piggybackLayout } from './piggyback.js';
export { runExperiment, trainingOracle, evaluateSplit, type ExperimentResult, type RunHooks, type SplitMetrics, type QualityPair } from './runner.js';
export {
  saveCheckpoint, loadCheckpoint, restorePreviousCheckpoint, truncateLog, encodeCheckpoint, decodeCheckpoint, CheckpointWriteError, CorruptCheckpointError,
  type LoadedCheckpoint,
} from './checkpoint.js';
export { writeAtomic } from './files.js';
export { readJsonc, ConfigFileError } from './config-file.js';
export { DEFAULT_CONFIG } from './defaults.js';
export { runManifest } from './manifest.js';
export { createShardOracles, shardFactoryUrl, type ShardInit } from './shard-factory.js';
export { useWorkers, type WorkerOptions } from './workers.js';
