// The seeded generator lives in core (shared by datasets, initialisations and minibatch sampling).
export { Rng } from '@bilevel/core';
