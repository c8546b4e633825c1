#!/usr/bin/env node
// The `bilevel` command. npm links this file when it installs (it is in git, unlike dist/, and npm links no bin whose
// file is missing), so `npx bilevel` works on a fresh clone once `npm run build` has compiled dist/main.js.
import { existsSync } from 'node:fs';

const main = new URL('../dist/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('bilevel: the command is not built yet (packages/cli/dist/main.js is missing)\n  → run `npm run build` in the repository first\n');
  process.exit(1);
}
await import(main.href);
