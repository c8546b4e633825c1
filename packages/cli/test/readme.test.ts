import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './cli.js';

describe('README', () => {
  it('the programmatic-API snippet runs as written and learns something', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const block = readme.split('<!-- api-snippet')[1]?.match(/```js\n([\s\S]*?)```/)?.[1];
    expect(block, 'README has an api-snippet block').toBeTruthy();
    expect(block!.trim().split('\n').length).toBeLessThanOrEqual(20);
    const file = join(ROOT, 'packages/cli/dist/readme-snippet.test-tmp.mjs');
    writeFileSync(file, block!);
    try {
      const r = spawnSync(process.execPath, [file], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
      expect(r.status, r.stderr).toBe(0);
      const last = r.stdout.trim().split('\n').at(-1)!;
      expect(last).toMatch(/^(converged|accuracy-floor|max-iterations) /);
    } finally {
      rmSync(file, { force: true });
    }
  });

  it('the Quickstart has exactly the two commands and .ci/run calls the test command', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const quick = readme.split('## Quickstart')[1].split('```bash')[1].split('```')[0].trim().split('\n');
    expect(quick.map((l) => l.split('#')[0].trim())).toEqual(['npm install && npm run demo', 'npm test']);
    expect(readFileSync(join(ROOT, '.ci/run'), 'utf8')).toMatch(/^npm test$/m);
  });
});
