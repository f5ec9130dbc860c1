import { defineKernel, defineUniforms } from '@qwen3-webgpu/tensor';
import source from './attention-combine.wgsl';

/** Merges flash-decoding's split-key attention partials (attention-combine.wgsl): every row reads `live` chunks. */
export const attentionCombine = defineKernel({
  label: 'attention_combine',
  code: source,
  bindings: { partials: 'read', out: 'read_write' },
  uniforms: defineUniforms({ seq: 'u32', live: 'u32' }),
});
