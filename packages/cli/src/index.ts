export { runCommand, resumeCommand, readConfig, type RunOptions } from './run.js';
export { prepareOutDir, IterationLog, summaryOf, svgPlot, comparisonPng, writeFigures } from './output.js';
export { reportCommand, writeReport, runReport, type ReportOptions, type ReportResult } from './report/index.js';
export { Progress } from './progress.js';
