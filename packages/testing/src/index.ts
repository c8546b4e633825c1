export * from './checks.js';
export * from './suites.js';
export * from './plugin.js';
