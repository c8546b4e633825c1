import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigFileError, parseConfig, readJsonc } from '@bilevel/experiment';

const file = (text: string) => {
  const f = join(mkdtempSync(join(tmpdir(), 'bilevel-jsonc-')), 'c.json');
  writeFileSync(f, text);
  return f;
};

describe('config files: JSON with comments', () => {
  it('reads // and /* */ comments and trailing commas (the README writes configs so)', () => {
    const raw = readJsonc(file('{\n  // data\n  "data": { "train": { "source": "synthetic", "count": 2, "size": [16, 16] }, "noise": { "sigma": 0.1 }, },\n  /* the prior */ "regularizer": { "name": "tv" },\n}\n'));
    expect(parseConfig(raw).regularizer?.name).toBe('tv');
  });

  it('names line and column of a syntax error, and the file', () => {
    const f = file('{\n  "seed": 1\n  "name": "x"\n}');
    expect(() => readJsonc(f)).toThrow(ConfigFileError);
    expect(() => readJsonc(f)).toThrow(new RegExp(`config "${f}" line 3, column 3: expected "," between entries`));
    expect(() => readJsonc(file(''), 'sweep file')).toThrow(/sweep file ".*" line 1, column 1: expected a value|sweep file ".*" is empty/);
    expect(() => readJsonc(file('{ "a": "unterminated }'))).toThrow(/a string is not closed/);
    expect(() => readJsonc('/no/such/file.json')).toThrow(/cannot read config "\/no\/such\/file\.json" \(ENOENT\)/);
  });
});
