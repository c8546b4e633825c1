import { defineConfig } from 'vitest/config';
import { workspaceAlias } from './vitest.config.js';
export default defineConfig({ resolve: { alias: workspaceAlias }, test: { root: '/work/main', include: ['packages/*/test/**/*.webgpu.test.ts'], setupFiles: ['./vitest.setup.ts'], testTimeout: 600000 } });
