import { bindPlugins, ContainerModule, numberOption, rejectUnknownOptions, type PluginDescriptor } from '@bilevel/core';
import { Maid, MAID_DEFAULTS, type MaidOptions } from './maid.js';

export { Maid, MAID_DEFAULTS };
export type { MaidOptions, MaidState } from './maid.js';
export { StopRules } from './stopping.js';

const MAID_OPTION_DOCS: Record<keyof MaidOptions, string> = {
  epsilon0: 'initial lower-level accuracy ε₀', delta0: 'initial CG residual δ₀', step0: 'initial step α₀',
  eta: 'descent test ω ≤ (1 − η)‖z‖', lambda: 'sufficient decrease λ', shrink: 'ε, δ shrink ν', backtrack: 'step shrink ρ',
  grow: 'ε, δ growth after success', stepGrow: 'step growth after success', maxBacktracks: 'steps tried before shrinking ε, δ',
  gradTol: 'stop when ‖z‖ + ω ≤ gradTol', relGradTol: 'stop when ‖z‖ + ω ≤ relGradTol·‖z₀‖',
};

export const optimizerPlugins: PluginDescriptor[] = [
  {
    kind: 'optimizer', name: 'maid',
    description: 'MAID: adaptive inexact descent with certified accuracy and inexact backtracking',
    options: MAID_OPTION_DOCS,
    create: (o, _ctx, path) => {
      const keys = Object.keys(MAID_DEFAULTS) as (keyof MaidOptions)[];
      rejectUnknownOptions(o, keys, path);
      const opts = { ...MAID_DEFAULTS };
      for (const k of keys) {
        const integer = k === 'maxBacktracks';
        opts[k] = numberOption(o, k, MAID_DEFAULTS[k], path, { min: 0, integer, exclusiveMin: !['gradTol', 'relGradTol', 'lambda'].includes(k) });
      }
      for (const k of ['eta', 'shrink', 'backtrack'] as const) {
        if (opts[k] >= 1) numberOption(o, k, 0, path, { max: 0.999999 });
      }
      return new Maid(opts);
    },
  },
];

/** Registers the outer optimizers. */
export const optimizersModule = new ContainerModule((bind) => bindPlugins(bind, optimizerPlugins));
