import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach } from 'vitest';
import { useBackend } from '@bilevel/core';

// Mesa's software Vulkan driver (lavapipe) where no GPU driver is named, and the runtime folder Dawn wants.
const LAVAPIPE = '/usr/share/vulkan/icd.d/lvp_icd.json';
process.env.VK_ICD_FILENAMES ??= LAVAPIPE;
if (!process.env.XDG_RUNTIME_DIR) {
  process.env.XDG_RUNTIME_DIR = join(tmpdir(), 'bilevel-xdg');
  mkdirSync(process.env.XDG_RUNTIME_DIR, { recursive: true });
}

let unavailable: string | undefined;
try {
  await useBackend('webgpu');
} catch (e) {
  unavailable = (e as Error).message.split('\n')[0];
  if (process.env.CI) throw new Error(`the webgpu test group must run on CI, but: ${unavailable}\n  → .ci/run installs lavapipe (bookworm-backports) and npm installs webgpu @tensorflow/tfjs-backend-webgpu`);
  process.stdout.write(`webgpu test group skipped: ${unavailable}\n`);
}

// Without an adapter (and not on CI) every test of the group is skipped; the reason was printed above.
beforeEach((ctx) => {
  if (unavailable) ctx.skip();
});
