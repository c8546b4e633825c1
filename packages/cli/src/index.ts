/**
 * {@include ../README.md}
 *
 * @module @bilevel/cli
 */
export { runCommand, resumeCommand, readConfig, type RunOptions } from './run.js';
export { prepareOutDir, IterationLog, summaryOf, svgPlot, comparisonPng, writeFigures } from './output.js';
export { reportCommand, writeReport, runReport, type ReportOptions, type ReportResult } from './report/index.js';
export { Progress } from './progress.js';
export { svgLines, COLORS, type Series, type PlotOptions } from './plots.js';
export { markdownTable, csvTable, type Column, type TableRow } from './tables.js';
export { sweepCommand, type SweepCommandOptions } from './sweep.js';
