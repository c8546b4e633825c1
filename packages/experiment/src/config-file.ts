import { readFileSync } from 'node:fs';
import { parse, printParseErrorCode, type ParseError } from 'jsonc-parser';
import { BilevelError } from '@bilevel/core';

/** A config file that cannot be read or parsed (the message names the file, and the line and column). */
export class ConfigFileError extends BilevelError {}

/** 1-based line and column of a character offset. */
function position(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, column: before[before.length - 1].length + 1 };
}

/** What a jsonc-parser error code means, in words. */
const WORDS: Partial<Record<string, string>> = {
  InvalidSymbol: 'unexpected character', PropertyNameExpected: 'expected a property name in double quotes', ValueExpected: 'expected a value',
  ColonExpected: 'expected ":"', CommaExpected: 'expected "," between entries', CloseBraceExpected: 'expected "}"',
  CloseBracketExpected: 'expected "]"', EndOfFileExpected: 'unexpected text after the end', UnexpectedEndOfString: 'a string is not closed',
  UnexpectedEndOfComment: 'a /* comment is not closed', InvalidEscapeCharacter: 'invalid escape in a string', InvalidCharacter: 'invalid character in a string',
};

/**
 * Reads a JSON config file; comments (`//`, `/* … *\/`) and trailing commas are allowed (JSONC, as the README's
 * examples use). `what` names the file in errors ("config", "sweep file", …); each error gives line and column.
 */
export function readJsonc(file: string, what = 'config'): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigFileError(`cannot read ${what} "${file}" (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, 'check the path');
  }
  const errors: ParseError[] = [];
  const value: unknown = parse(text, errors, { allowTrailingComma: true, disallowComments: false, allowEmptyContent: false });
  if (errors.length) {
    const first = errors[0];
    const { line, column } = position(text, first.offset);
    const code = printParseErrorCode(first.error);
    const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : '';
    throw new ConfigFileError(`${what} "${file}" line ${line}, column ${column}: ${WORDS[code] ?? code}${more}`, 'fix the JSON there (comments and trailing commas are allowed)');
  }
  if (value === undefined) throw new ConfigFileError(`${what} "${file}" is empty`, 'write a JSON object in it');
  return value;
}
