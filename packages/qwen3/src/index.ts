export { CpuQwen3Model } from './cpu/model.ts';
export type { CpuForwardResult } from './cpu/model.ts';
export { loadCpuWeights } from './cpu/weights.ts';
export type { CpuWeights } from './cpu/weights.ts';
export { GpuQwen3Model } from './gpu/model.ts';
export type { GpuModelOptions } from './gpu/model.ts';
