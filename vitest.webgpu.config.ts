import { defineConfig } from 'vitest/config';
import { workspaceAlias } from './vitest.config.js';

// The webgpu test group: files named *.webgpu.test.ts, run on the webgpu backend (Dawn; on CI through Mesa's lavapipe).
// Where no WebGPU adapter exists the setup skips every file with a printed reason, except under CI=true, where it fails.
export default defineConfig({
  resolve: { alias: workspaceAlias },
  test: {
    include: ['packages/*/test/**/*.webgpu.test.ts', 'tools/*/test/**/*.webgpu.test.ts'],
    setupFiles: ['./vitest.webgpu.setup.ts'],
    // Software Vulkan is slow; one file at a time keeps lavapipe's threads to themselves.
    fileParallelism: false,
    testTimeout: 600_000,
    hookTimeout: 600_000,
  },
});
