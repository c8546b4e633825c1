/** Base of every error bilevel throws on purpose; `hint` says what to do next. */
export class BilevelError extends Error {
  constructor(message: string, readonly hint?: string) {
    super(hint ? `${message}\n  → ${hint}` : message);
    this.name = new.target.name;
  }
}

/** A config value (named by its JSON path) is missing or wrong. */
export class ConfigError extends BilevelError {
  constructor(readonly path: string, readonly problem: string, readonly fix: string) {
    super(`config ${path}: ${problem}`, fix);
  }
}

/** One problem of a config: its JSON path, what is wrong, and the fix. */
export interface ConfigIssue {
  path: string;
  problem: string;
  fix: string;
}

/** Several config problems reported at once. */
export class ConfigErrors extends BilevelError {
  constructor(readonly issues: readonly ConfigIssue[]) {
    super(`config has ${issues.length} problem${issues.length === 1 ? '' : 's'}:\n` + issues.map((i) => `  ${i.path}: ${i.problem} → ${i.fix}`).join('\n'));
  }
}

/** A plugin name that no loaded module registered. */
export class UnknownPluginError extends BilevelError {
  readonly fix: string;
  constructor(readonly kind: string, readonly pluginName: string, available: readonly string[]) {
    const fix = `use one of: ${available.join(', ') || '(none registered)'}; third-party plugins are loaded by listing their package in the config's "plugins"`;
    super(`unknown ${kind} "${pluginName}"`, fix);
    this.fix = fix;
  }
}

/** Runs `f`, turning config-level errors into issues (collected so all are reported at once). */
export function collectIssues<T>(issues: ConfigIssue[], path: string, f: () => T): T | undefined {
  try {
    return f();
  } catch (e) {
    if (e instanceof ConfigErrors) issues.push(...e.issues);
    else if (e instanceof ConfigError) issues.push({ path: e.path, problem: e.problem, fix: e.fix });
    else if (e instanceof UnknownPluginError) issues.push({ path, problem: `unknown ${e.kind} "${e.pluginName}"`, fix: e.fix });
    else if (e instanceof ShapeError || e instanceof InvalidDataError) issues.push({ path, problem: e.message.split('\n')[0], fix: e.hint ?? 'fix the data' });
    else throw e;
    return undefined;
  }
}

/** A tensor backend that is not installed or has no device. */
export class BackendUnavailableError extends BilevelError {
  constructor(readonly backend: string, reason: string, fix: string) {
    super(`tensor backend "${backend}" is unavailable: ${reason}`, fix);
  }
}

/** Shapes of tensors that must agree do not. */
export class ShapeError extends BilevelError {
  constructor(what: string, expected: readonly number[], got: readonly number[]) {
    super(`${what}: expected shape [${expected.join(', ')}], got [${got.join(', ')}]`, 'check the image sizes and the operator geometry in the config');
  }
}

/** Data that contains NaN or Inf. */
export class InvalidDataError extends BilevelError {}
