/**
 * {@include ../README.md}
 *
 * @module @bilevel/testing
 */
export * from './checks.js';
export * from './suites.js';
export * from './plugin.js';
export * from './oracle.js';
export * from './numbers.js';
