import { readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

// Tests import the workspace packages from source: @bilevel/<name> → packages/<name>/src/index.ts.
export const workspaceAlias = Object.fromEntries(
  readdirSync(resolve(__dirname, 'packages')).map((p) => [`@bilevel/${p}`, resolve(__dirname, 'packages', p, 'src/index.ts')]),
);

export default defineConfig({
  resolve: { alias: workspaceAlias },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'tools/*/test/**/*.test.ts', 'examples/*/test/**/*.test.ts'],
    // The webgpu group runs by itself: vitest.webgpu.config.ts.
    exclude: ['**/node_modules/**', '**/*.webgpu.test.ts'],
    setupFiles: ['./vitest.setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
