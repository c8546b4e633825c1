import type { ContainerModule, Curvature, ImageBatch, ParameterLayout, PluginDescriptor, Regularizer, Scalar, Tensor1D, z } from '@bilevel/core';

export declare class SmoothHuber implements Regularizer {
  readonly name: 'huber';
  readonly layout: ParameterLayout;
  constructor(init?: { logWeight?: number; logDelta?: number });
  initialTheta(seed?: number): Float32Array;
  value(x: ImageBatch, theta: Tensor1D): Scalar;
  gradX(x: ImageBatch, theta: Tensor1D): ImageBatch;
  hvpX(x: ImageBatch, theta: Tensor1D, v: ImageBatch): ImageBatch;
  mixedVjp(x: ImageBatch, theta: Tensor1D, v: ImageBatch): Tensor1D;
  curvature(theta: Float32Array): Curvature;
}
export declare const huberOptions: z.ZodObject<{ logWeight: z.ZodDefault<z.ZodNumber>; logDelta: z.ZodDefault<z.ZodNumber> }, z.core.$strict>;
export declare const descriptors: PluginDescriptor<'regularizer'>[];
export declare const plugin: ContainerModule;
export default plugin;
