import { readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

// Tests import the workspace packages from source: @bilevel/<name> → packages/<name>/src/index.ts.
const alias = Object.fromEntries(
  readdirSync(resolve(__dirname, 'packages')).map((p) => [`@bilevel/${p}`, resolve(__dirname, 'packages', p, 'src/index.ts')]),
);

export default defineConfig({
  resolve: { alias },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'tools/*/test/**/*.test.ts', 'examples/*/test/**/*.test.ts'],
    setupFiles: ['./vitest.setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
