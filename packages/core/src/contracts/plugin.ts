import type { Options, OptionsSchema } from '../options.js';
import type { DataFidelity } from './fidelity.js';
import type { ForwardOperator } from './operator.js';
import type { OuterOptimizer } from './optimizer.js';
import type { Regularizer } from './regularizer.js';
import type { LinearSolver, LowerSolver } from './solvers.js';

/** What each plugin kind creates. */
export interface PluginKinds {
  operator: ForwardOperator;
  regularizer: Regularizer;
  fidelity: DataFidelity;
  lowerSolver: LowerSolver;
  linearSolver: LinearSolver;
  optimizer: OuterOptimizer;
}
export type PluginKind = keyof PluginKinds;
export const PLUGIN_KINDS: readonly PluginKind[] = ['operator', 'regularizer', 'fidelity', 'lowerSolver', 'linearSolver', 'optimizer'];

/** What a plugin factory may use besides its options. */
export interface PluginContext {
  /** Per-image [height, width] of the experiment. */
  readonly imageShape: readonly [number, number];
  readonly seed: number;
}

/** A registered plugin: a name, metadata and a factory. `path` names the config field for errors. */
export interface PluginDescriptor<K extends PluginKind = PluginKind> {
  readonly kind: K;
  readonly name: string;
  readonly description: string;
  /** Option names with one-line meanings (for `bilevel plugins` and validation). */
  readonly options?: Readonly<Record<string, string>>;
  /** The options' one declaration (see definePlugin): validation, defaults, docs and the JSON Schema come from it. */
  readonly schema?: OptionsSchema;
  /** Parameter count with default options (regularizers). */
  readonly parameterCount?: number;
  create(options: Options, ctx: PluginContext, path: string): PluginKinds[K];
}
