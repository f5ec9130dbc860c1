import { defineKernel, defineUniforms } from '@qwen3-webgpu/tensor';
import source from './attention-combine.wgsl';

/**
 * Merges split-key attention partials (attention-combine.wgsl): flash-decoding's chunks (chunk = 0: every row reads
 * `live` chunks) and flash-attention prefill's key splits (chunk = keys per split: each row reads those it can see).
 */
export const attentionCombine = defineKernel({
  label: 'attention_combine',
  code: source,
  bindings: { partials: 'read', out: 'read_write' },
  uniforms: defineUniforms({ seq: 'u32', live: 'u32', pos0: 'u32', chunk: 'u32' }),
});
