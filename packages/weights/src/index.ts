// The declarations name WebGPU types (GPUDevice, GPUBuffer, …): TypeScript users without `lib: dom` get them here.
/// <reference types="@webgpu/types" preserve="true" />
export { WeightsError } from './errors.ts';
export { MAX_HEADER_BYTES, parseSafetensorsHeader, readSafetensorsHeader } from './safetensors.ts';
export type { SafetensorsDtype, SafetensorsEntry, SafetensorsHeader } from './safetensors.ts';
export { parseGenerationConfig, parseQwen3Config, readJson } from './config.ts';
export type { GenerationConfig, Qwen3Config } from './config.ts';
export { expectedTensors, LAYER_TENSORS, layerTensorName, layerTensorShape } from './names.ts';
export type { ExpectedTensor, LayerTensor } from './names.ts';
export { isCheckpoint, openCheckpoint } from './checkpoint.ts';
export type { Checkpoint, CheckpointTensor } from './checkpoint.ts';
export { loadQwen3Weights } from './upload.ts';
export { readTensorF32 } from './host.ts';
export { countNonFinite } from './non-finite.ts';
export type { LoadOptions, LoadProgress, Qwen3LayerWeights, Qwen3Weights, WeightTensor } from './upload.ts';
export { QWEN3_0_6B_CONFIG } from './qwen3-0.6b.ts';
export { modelFiles } from './sources/resolve.ts';
export type { ModelSource } from './sources/resolve.ts';
export { readJsonFile } from './sources/files.ts';
export type { ByteSource, CheckpointFiles } from './sources/files.ts';
export { memoryFiles, pickedFiles } from './sources/memory.ts';
export type { FileBytes, FileMap } from './sources/memory.ts';
export { urlFiles } from './sources/url.ts';
export type { UrlFilesOptions } from './sources/url.ts';
