// The oracle fixtures live with the oracles package now; kept here for the tests that import them from core.
export * from '../../oracles/test/fixtures.js';
