// The declarations name WebGPU types (GPUDevice, GPUBuffer, …): TypeScript users without `lib: dom` get them here.
/// <reference types="@webgpu/types" preserve="true" />
export { createRmsNormF32 } from './rmsnorm.ts';
export type { ReductionPath, RmsNormArgs, RmsNormDtype, RmsNormF32, RmsNormF32Options } from './rmsnorm.ts';
export { rmsnormReference } from './reference.ts';
