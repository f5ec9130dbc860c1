// The declarations name WebGPU types (GPUDevice, GPUBuffer, …): TypeScript users without `lib: dom` get them here.
/// <reference types="@webgpu/types" preserve="true" />
export { createQkvRope } from './qkv-rope.ts';
export type { QkvPath, QkvRope, QkvRopeArgs, QkvRopeOptions } from './qkv-rope.ts';
export { normRope, qkvProjections, qkvRopeReference } from './reference.ts';
export type { QkvDims } from './reference.ts';
export { ropeTableHost } from './rope-table.ts';
