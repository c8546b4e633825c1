/** Base of every error bilevel throws on purpose; `hint` says what to do next. */
export class BilevelError extends Error {
  constructor(message: string, readonly hint?: string) {
    super(hint ? `${message}\n  → ${hint}` : message);
    this.name = new.target.name;
  }
}

/** A config value (named by its JSON path) is missing or wrong. */
export class ConfigError extends BilevelError {
  constructor(readonly path: string, problem: string, fix: string) {
    super(`config ${path}: ${problem}`, fix);
  }
}

/** A plugin name that no loaded module registered. */
export class UnknownPluginError extends BilevelError {
  constructor(readonly kind: string, readonly pluginName: string, available: readonly string[]) {
    super(
      `unknown ${kind} "${pluginName}"`,
      `use one of: ${available.join(', ') || '(none registered)'}; third-party plugins are loaded by listing their package in the config's "plugins"`,
    );
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
