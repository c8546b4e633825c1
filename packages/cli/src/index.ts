export { builtinModules, defaultRegistry, importPluginModules } from './plugins.js';
export { buildExperiment, configDir, type BuildOptions } from './build.js';
export { DEFAULT_CONFIG } from './defaults.js';
export { runCommand, resumeCommand, readConfig, type RunOptions } from './run.js';
export { saveCheckpoint, loadCheckpoint } from './checkpoint.js';
export { writeAtomic, prepareOutDir, IterationLog, summaryOf, svgPlot } from './output.js';
export { reportCommand, writeReport, runReport, type ReportOptions, type ReportResult } from './report/index.js';
export { ShardedOracle, type ShardedOracleOptions } from './parallel/sharded-oracle.js';
export { shardRanges, assignShards } from './parallel/shards.js';
