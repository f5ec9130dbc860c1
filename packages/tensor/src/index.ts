// The declarations name WebGPU types (GPUDevice, GPUBuffer, …): TypeScript users without `lib: dom` get them here.
/// <reference types="@webgpu/types" preserve="true" />
export { createGpuContext, NoAdapterError } from './context.ts';
export type { AdapterSummary, GpuContext, GpuContextOptions, GpuFeatures, KernelLayout, SubgroupMatrixConfig } from './context.ts';
export { DTYPES, dtypeBytes, isDType, isFloat, numel } from './dtype.ts';
export type { DType } from './dtype.ts';
export { bf16ToF32, f16ToF32, f32BitsToBf16, f32BitsToF16, f32ToBf16, f32ToF16, roundToDtype } from './codecs.ts';
export { Tensor, createTensor, encodeHost, fillTensor, readBytes, readFloat, readTensor, uploadTensor, writeTensor } from './tensor.ts';
export type { HostData, ReadData, TensorOptions } from './tensor.ts';
export { defineUniforms } from './uniforms.ts';
export type { UniformLayout, UniformType } from './uniforms.ts';
export { defineKernel } from './kernel.ts';
export { dtypeWgsl, wgslDtypeCode } from './wgsl-dtypes.ts';
export { decodeXSplit, xSplitKTiles, xSplitWgsl } from './x-split.ts';
export type { SplitSums, XSplit } from './x-split.ts';
export { gemvLanes, laneReduceVariant, laneReduceWgsl } from './lane-reduce.ts';
export type { Bindable, BindingAccess, CompiledKernel, DispatchTarget, Kernel, KernelSpec } from './kernel.ts';
export { dispatchGrid } from './dispatch.ts';
export { adjacentRows, splitRows } from './split.ts';
export { elementWindow } from './window.ts';
export type { Window } from './window.ts';
export type { RowPart } from './split.ts';
export { encodeCopyWords, measureCopyBandwidth, timeGpu } from './timing.ts';
export type { Bandwidth, GpuTiming, TimingOptions } from './timing.ts';
export { createRng } from './random.ts';
export type { Rng } from './random.ts';
export * as reference from './reference.ts';
export { DispatchList, type DispatchListOptions } from './dispatch-list.ts';
export type { DispatchMeta, UniformPatch } from './dispatch-list.ts';
