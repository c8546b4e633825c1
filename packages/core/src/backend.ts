import { tf } from './tensor.js';
import { BackendUnavailableError, ConfigError } from './errors.js';

export const BACKENDS = ['wasm', 'cpu', 'tensorflow', 'webgpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

/** The backend asked for by argument, else BILEVEL_BACKEND, else `wasm`. */
export function requestedBackend(name?: string): BackendName {
  const raw = name ?? process.env.BILEVEL_BACKEND ?? 'wasm';
  if (!(BACKENDS as readonly string[]).includes(raw)) {
    throw new ConfigError('backend', `unknown backend "${raw}"`, `use one of ${BACKENDS.join(', ')}`);
  }
  return raw as BackendName;
}

async function importOptional(pkg: string): Promise<unknown> {
  try {
    return await import(pkg);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') return undefined;
    throw e;
  }
}

const WEBGPU_INSTALL = 'npm install --no-save webgpu@0.6.2 @tensorflow/tfjs-backend-webgpu@4.22.0';

/**
 * Dawn's WebGPU as `navigator.gpu` (it must exist before tfjs-backend-webgpu loads, which then registers itself).
 * Each thread that calls this (a worker too) gets its own Dawn instance, hence its own adapter and device.
 */
async function loadWebgpu(): Promise<void> {
  const dawn = (await importOptional('webgpu')) as { create?: (o: string[]) => unknown; globals?: object } | undefined;
  if (!dawn?.create) {
    throw new BackendUnavailableError('webgpu', 'the `webgpu` package (Dawn for Node) is not installed',
      `run \`${WEBGPU_INSTALL}\` (docs/backends.md), or use --backend wasm`);
  }
  const g = globalThis as Record<string, unknown>;
  Object.assign(g, dawn.globals ?? {});
  const nav = g.navigator as Record<string, unknown> | undefined;
  // Node ≥ 21 has a getter-only global navigator (without gpu): extend it rather than assign over it.
  if (!nav) Object.defineProperty(g, 'navigator', { value: { gpu: dawn.create([]) }, configurable: true, writable: true });
  else if (!nav.gpu) Object.defineProperty(nav, 'gpu', { value: dawn.create([]), configurable: true });
  if (!(await importOptional('@tensorflow/tfjs-backend-webgpu'))) {
    throw new BackendUnavailableError('webgpu', '@tensorflow/tfjs-backend-webgpu is not installed', `run \`${WEBGPU_INSTALL}\``);
  }
}

/**
 * Loads and activates a tfjs backend. `wasm` and `cpu` ship with bilevel; `tensorflow` needs
 * @tensorflow/tfjs-node-gpu (CUDA) or @tensorflow/tfjs-node; `webgpu` needs the `webgpu` package
 * (Dawn for Node) and @tensorflow/tfjs-backend-webgpu. Returns the active backend's name.
 */
export async function useBackend(name?: string, opts: { threads?: number } = {}): Promise<BackendName> {
  const backend = requestedBackend(name);
  if (tf.getBackend() === backend) return backend;
  switch (backend) {
    case 'cpu':
      await import('@tensorflow/tfjs-backend-cpu');
      break;
    case 'wasm': {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      if (opts.threads) wasm.setThreadsCount(opts.threads);
      break;
    }
    case 'tensorflow': {
      const found = (await importOptional('@tensorflow/tfjs-node-gpu')) ?? (await importOptional('@tensorflow/tfjs-node'));
      if (!found) {
        throw new BackendUnavailableError('tensorflow', 'neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node is installed',
          'on a CUDA workstation run `npm install @tensorflow/tfjs-node-gpu` (or `@tensorflow/tfjs-node` for CPU), or use --backend wasm');
      }
      break;
    }
    case 'webgpu': {
      await loadWebgpu();
      break;
    }
  }
  let ok = false;
  try {
    ok = await tf.setBackend(backend);
  } catch {
    ok = false;
  }
  if (!ok) {
    const hint = backend === 'webgpu'
      ? 'check the Vulkan driver (without a GPU: Mesa lavapipe ≥ 25 with VK_ICD_FILENAMES=/usr/share/vulkan/icd.d/lvp_icd.json and a writable XDG_RUNTIME_DIR), or use --backend wasm'
      : 'check the GPU driver, or use --backend wasm (default) or cpu';
    throw new BackendUnavailableError(backend, 'it is installed but failed to initialise (no device?)', hint);
  }
  await tf.ready();
  return backend;
}
