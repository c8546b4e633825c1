import { tf } from './tensor.js';

/**
 * Fused kernels: one JS loop over tensors that live in JS-visible memory (the wasm heap, the cpu backend's arrays)
 * instead of a chain of elementwise tfjs ops, each of which streams the whole tensor through memory. A plugin
 * defines one with `defineFusedKernel`; on other backends (webgpu, tensorflow) the runner returns undefined and
 * the plugin uses its composite tfjs-op path.
 */

/** Global switch for tests and benchmarks: false makes every fused kernel return undefined. */
export const fusedKernels = { enabled: true };

/** What a fused kernel computes: `out` (float32, shape `outShape`) from the inputs' values and shapes. */
export interface FusedKernelSpec<A extends object> {
  name: string;
  outShape(shapes: readonly (readonly number[])[], attrs: A): number[];
  compute(inputs: readonly Float32Array[], out: Float32Array, shapes: readonly (readonly number[])[], attrs: A): void;
}

interface HeapBackend {
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
}
interface CpuBackend {
  data: { get(id: object): { values: Float32Array } };
  makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): tf.TensorInfo;
}

/** How a fused kernel reaches a backend's memory: an output to fill (then finished into a TensorInfo), input views. */
interface MemoryAdapter {
  output(shape: number[]): { values: Float32Array; finish(): tf.TensorInfo };
  view(t: tf.TensorInfo): Float32Array;
}

const ADAPTERS: Record<'wasm' | 'cpu', (backend: unknown) => MemoryAdapter> = {
  // Views into the wasm heap; allocate the output first, since a heap growth detaches views taken before it.
  wasm: (backend) => {
    const be = backend as HeapBackend;
    return {
      output: (shape) => {
        const info = be.makeOutput(shape, 'float32');
        return { values: be.typedArrayFromHeap(info), finish: () => info };
      },
      view: (t) => be.typedArrayFromHeap(t),
    };
  },
  cpu: (backend) => {
    const be = backend as CpuBackend;
    return {
      output: (shape) => {
        const values = new Float32Array(shape.reduce((p, q) => p * q, 1));
        return { values, finish: () => be.makeTensorInfo(shape, 'float32', values) };
      },
      view: (t) => be.data.get(t.dataId).values,
    };
  },
};

function register<A extends object>(spec: FusedKernelSpec<A>): void {
  for (const backendName of ['wasm', 'cpu'] as const) {
    tf.registerKernel({
      kernelName: spec.name, backendName,
      kernelFunc: ({ inputs, backend, attrs }) => {
        const memory = ADAPTERS[backendName](backend);
        const ins = Object.keys(inputs).sort().map((k) => inputs[k] as tf.TensorInfo);
        const shapes = ins.map((t) => t.shape);
        const out = memory.output(spec.outShape(shapes, attrs as unknown as A));
        spec.compute(ins.map((t) => memory.view(t)), out.values, shapes, attrs as unknown as A);
        return out.finish();
      },
    });
  }
}

/**
 * Registers `spec` for wasm and cpu (on first use) and returns its runner: inputs in order (float32 tensors),
 * attrs, and the result, or undefined on other backends or when fusedKernels.enabled is false.
 */
export function defineFusedKernel<A extends object>(spec: FusedKernelSpec<A>): <T extends tf.Tensor>(inputs: readonly tf.Tensor[], attrs: A) => T | undefined {
  let registered = false;
  return <T extends tf.Tensor>(inputs: readonly tf.Tensor[], attrs: A): T | undefined => {
    const backend = tf.getBackend();
    if (!fusedKernels.enabled || (backend !== 'wasm' && backend !== 'cpu')) return undefined;
    if (!registered) {
      register(spec);
      registered = true;
    }
    // Input names sort in order: i00, i01, …
    const named = Object.fromEntries(inputs.map((t, i) => [`i${String(i).padStart(2, '0')}`, t]));
    return tf.engine().runKernel(spec.name, named, attrs as unknown as tf.NamedAttrMap) as T;
  };
}
