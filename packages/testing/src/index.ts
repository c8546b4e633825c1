export * from './checks.js';
export * from './suites.js';
