import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(__dirname, '../../..');
const MAX_FUNCTION_LINES = 80;

/** Every .ts file under packages/<name>/src. */
function sourceFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir)) {
      const p = join(dir, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) out.push(p);
    }
  };
  for (const pkg of readdirSync(join(ROOT, 'packages'))) {
    const src = join(ROOT, 'packages', pkg, 'src');
    try {
      if (statSync(src).isDirectory()) walk(src);
    } catch {
      // a package without src
    }
  }
  return out;
}

/** Functions (declarations, methods, arrows, accessors) longer than `max` lines, as "file:line name (n lines)". */
function longFunctions(file: string, max: number): string[] {
  const text = readFileSync(file, 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
      const end = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
      const lines = end - start + 1;
      if (lines > max) {
        const name = node.name && ts.isIdentifier(node.name) ? node.name.text : '(anonymous)';
        found.push(`${relative(ROOT, file)}:${start + 1} ${name} (${lines} lines)`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

describe('source rules (issue 20)', () => {
  const files = sourceFiles();

  it('reads tensors only asynchronously: no dataSync, arraySync or bufferSync in any package src', () => {
    const offenders = files.flatMap((f) => readFileSync(f, 'utf8').split('\n')
      .map((line, i) => (/\b(dataSync|arraySync|bufferSync)\s*\(/.test(line) ? `${relative(ROOT, f)}:${i + 1}: ${line.trim()}` : ''))
      .filter(Boolean));
    expect(files.length).toBeGreaterThan(50);
    expect(offenders, `synchronous reads (use await readScalars/readTensors from @bilevel/core):\n${offenders.join('\n')}`).toEqual([]);
  });

  it(`has no function longer than ${MAX_FUNCTION_LINES} lines in packages/*/src`, () => {
    const long = files.flatMap((f) => longFunctions(f, MAX_FUNCTION_LINES));
    expect(long, `split these into named steps:\n${long.join('\n')}`).toEqual([]);
  });
});
