import { tf } from './tensor.js';

/**
 * Fused kernels: one JS loop over tensors that live in JS-visible memory (the wasm heap, the cpu backend's arrays)
 * instead of a chain of elementwise tfjs ops, each of which streams the whole tensor through memory. A plugin
 * defines one with `defineFusedKernel`; a spec with a `webgpu` field also runs on webgpu (WGSL passes, one GPU
 * thread per output element); on other backends (tensorflow, or webgpu without the field) the runner returns
 * undefined and the plugin uses its composite tfjs-op path.
 */

/** Global switch for tests and benchmarks: false makes every fused kernel return undefined. */
export const fusedKernels = { enabled: true };

/** What a fused kernel computes: `out` (float32, shape `outShape`) from the inputs' values and shapes. */
export interface FusedKernelSpec<A extends object> {
  name: string;
  outShape(shapes: readonly (readonly number[])[], attrs: A): number[];
  compute(inputs: readonly Float32Array[], out: Float32Array, shapes: readonly (readonly number[])[], attrs: A): void;
  /** The same result on webgpu as WGSL passes (the last pass's output is the result); absent: no webgpu kernel. */
  webgpu?(shapes: readonly (readonly number[])[], attrs: A): WgslPass | WgslPass[];
}

/**
 * One WGSL compute pass, one thread per element of its float32 output `outShape`. Pass k reads the kernel's inputs
 * followed by the outputs of passes 0..k−1 (all of them, or those listed in `reads`: WebGPU's automatic layout
 * drops a binding the shader never uses, so a pass must bind only what it reads), in that order bound to
 * `variableNames` (storage arrays `name[i]`, flat
 * row-major; their shapes are uniforms `uniforms.<name>Shape`, i32 or vec2..4<i32>). `main` is the body of
 * `fn main(index: i32)`, run for index < uniforms.size; it writes `setOutputAtIndex(index, value)`. `helpers` are
 * WGSL functions placed before main (prefix their names, e.g. `bl_`). Anything shape-dependent must be a uniform
 * (declared in `uniforms`, e.g. `bls : i32,`, with values in `uniformData`) or part of `shaderKey`: compiled
 * pipelines are cached by shaderKey and the ranks, dtypes and names of the bindings, not by their sizes.
 */
export interface WgslPass {
  shaderKey: string;
  variableNames: string[];
  /** Indices into [inputs…, earlier outputs…] of the bindings, one per variable name (default: all, in order). */
  reads?: number[];
  outShape: number[];
  main: string;
  helpers?: string;
  uniforms?: string;
  uniformData?: { type: 'float32' | 'int32'; data: number[] }[];
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

/** The parts of tfjs-backend-webgpu's WebGPUProgram / WebGPUBackend a pass needs (structural: the package is optional). */
interface WebGpuProgram {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  size: boolean;
  uniforms?: string;
  getUserCode(): string;
}
interface WebGpuBackend {
  runWebGPUProgram(program: WebGpuProgram, inputs: tf.TensorInfo[], dtype: 'float32', uniforms?: WgslPass['uniformData']): tf.TensorInfo;
  disposeData(dataId: object): boolean;
}

const WORKGROUP = 64;

/** A flat-dispatch program for `pass` (64 threads per workgroup; the backend folds large dispatches into y, z). */
function wgslProgram(pass: WgslPass): WebGpuProgram {
  const size = pass.outShape.reduce((p, q) => p * q, 1);
  return {
    variableNames: pass.variableNames, outputShape: pass.outShape, shaderKey: pass.shaderKey,
    dispatchLayout: { x: pass.outShape.map((_, i) => i) },
    dispatch: [Math.ceil(size / WORKGROUP), 1, 1], workgroupSize: [WORKGROUP, 1, 1], size: true,
    uniforms: pass.uniforms,
    getUserCode: () => `${pass.helpers ?? ''}\nfn main(index : i32) {\n  if (index < uniforms.size) {\n${pass.main}\n  }\n}\n`,
  };
}

/** Runs the passes in order, each on the inputs and the earlier outputs; frees the intermediate outputs. */
function runPasses(backend: WebGpuBackend, passes: WgslPass[], inputs: tf.TensorInfo[]): tf.TensorInfo {
  const outs: tf.TensorInfo[] = [];
  for (const pass of passes) {
    const all = [...inputs, ...outs];
    const bound = pass.reads ? pass.reads.map((i) => all[i]) : all;
    if (bound.length !== pass.variableNames.length || bound.some((t) => t === undefined)) {
      throw new Error(`fused WGSL pass ${pass.shaderKey}: ${pass.variableNames.length} variable names for ${bound.length} bindings; list the bound tensors in \`reads\``);
    }
    outs.push(backend.runWebGPUProgram(wgslProgram(pass), bound, 'float32', pass.uniformData));
  }
  for (const t of outs.slice(0, -1)) backend.disposeData(t.dataId);
  return outs[outs.length - 1];
}

function registerWebGpu<A extends object>(spec: FusedKernelSpec<A>, build: NonNullable<FusedKernelSpec<A>['webgpu']>): void {
  tf.registerKernel({
    kernelName: spec.name, backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const ins = Object.keys(inputs).sort().map((k) => inputs[k] as tf.TensorInfo);
      const passes = build(ins.map((t) => t.shape), attrs as unknown as A);
      return runPasses(backend as unknown as WebGpuBackend, Array.isArray(passes) ? passes : [passes], ins);
    },
  });
}

function register<A extends object>(spec: FusedKernelSpec<A>): void {
  if (spec.webgpu) registerWebGpu(spec, spec.webgpu.bind(spec));
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
 * Registers `spec` for wasm and cpu, and webgpu when it has a `webgpu` field (on first use), and returns its
 * runner: inputs in order (float32 tensors), attrs, and the result, or undefined on other backends or when
 * fusedKernels.enabled is false.
 */
export function defineFusedKernel<A extends object>(spec: FusedKernelSpec<A>): <T extends tf.Tensor>(inputs: readonly tf.Tensor[], attrs: A) => T | undefined {
  let registered = false;
  return <T extends tf.Tensor>(inputs: readonly tf.Tensor[], attrs: A): T | undefined => {
    const backend = tf.getBackend();
    const supported = backend === 'wasm' || backend === 'cpu' || (backend === 'webgpu' && spec.webgpu !== undefined);
    if (!fusedKernels.enabled || !supported) return undefined;
    if (!registered) {
      register(spec);
      registered = true;
    }
    // Input names sort in order: i00, i01, …
    const named = Object.fromEntries(inputs.map((t, i) => [`i${String(i).padStart(2, '0')}`, t]));
    return tf.engine().runKernel(spec.name, named, attrs as unknown as tf.NamedAttrMap) as T;
  };
}
