// The declarations name WebGPU types (GPUDevice, GPUBuffer, …): TypeScript users without `lib: dom` get them here.
/// <reference types="@webgpu/types" preserve="true" />
export { CpuQwen3Model } from './cpu/model.ts';
export type { CpuForwardResult, CpuModelFault } from './cpu/model.ts';
export { loadCpuWeights } from './cpu/weights.ts';
export type { CpuWeights } from './cpu/weights.ts';
export { defaultMaxRows, Qwen3ForCausalLM, Qwen3Model } from './gpu/model.ts';
export type { ForwardResult, GpuModelOptions, StepProfile } from './gpu/model.ts';
export { Qwen3AttentionSeparated, Qwen3DecoderLayerSeparated, Qwen3MLP } from './gpu/layers.ts';
export type { Activations } from './gpu/layers.ts';
export { generate } from './generate.ts';
export { DeviceLostError } from './device-lost.ts';
export { checkSampledId, NON_FINITE_ID, NonFiniteLogitsError } from './non-finite.ts';
export type { GenerateOptions, GenerationStats, TokenBackend } from './generate.ts';
export { allowedWeights, resolveSampling, sampleToken } from './sampling.ts';
export type { ResolvedSampling, SamplingOptions } from './sampling.ts';
export { loadCausalLM, stopIdsOf } from './causal-lm.ts';
export { defaultMaxContext } from './max-context.ts';
export type { CausalLM, LoadCausalLMOptions } from './causal-lm.ts';
export { encodePrompt, hasTokenizer, loadTokenizer, StreamDecoder, stopIdsWith } from './tokenizer.ts';
export type { ChatMessage, PromptOptions, TextTokenizer } from './tokenizer.ts';
export { samplingDefaults } from './defaults.ts';
