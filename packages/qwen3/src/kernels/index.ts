import { defineKernel, defineUniforms, dtypeWgsl, wgslDtypeCode, type GpuContext, type RowPart, type Tensor } from '@qwen3-webgpu/tensor';
import attentionCombineSource from './attention-combine.wgsl';
import attentionCommon from './attention-common.wgsl';
import attentionPrefillSource from './attention-prefill.wgsl';
import attentionSource from './attention.wgsl';
import embeddingSource from './embedding.wgsl';
import markSeenSource from './mark-seen.wgsl';
import reduceF32 from './reduce-f32.wgsl';
import sampleSource from './sample.wgsl';
import type { ResolvedSampling } from '../sampling.ts';

export { encodeLinear, encodeSwiGlu } from './linear.ts';
export type { LinearArgs } from './linear.ts';

const embedding = defineKernel({
  label: 'embedding',
  code: `${dtypeWgsl}\n${embeddingSource}`,
  bindings: { ids: 'read', table: 'read', out: 'read_write' },
  uniforms: defineUniforms({ seq: 'u32', hidden: 'u32', row_start: 'u32', row_count: 'u32' }),
});

/** out [seq, hidden] f32 = E[ids]: one dispatch per binding part of the embedding. */
export function encodeEmbedding(ctx: GpuContext, pass: GPUComputePassEncoder, a: { ids: Tensor; table: RowPart[]; out: Tensor; seq: number }): void {
  const hidden = a.table[0]!.tensor.shape[1]!;
  const k = embedding.compile(ctx, { E_DTYPE: wgslDtypeCode(a.table[0]!.tensor.dtype) });
  for (const part of a.table) {
    k.encode(pass, { ids: a.ids, table: part.tensor, out: a.out }, { seq: a.seq, hidden, row_start: part.rowStart, row_count: part.rowCount }, Math.ceil((a.seq * hidden) / 256));
  }
}

const attention = defineKernel({
  label: 'attention',
  code: `${attentionCommon}\n${reduceF32}\n${attentionSource}`,
  bindings: { q: 'read', k_cache: 'read', v_cache: 'read', out: 'read_write' },
  uniforms: defineUniforms({ seq: 'u32', pos0: 'u32', capacity: 'u32', scale: 'f32' }),
});

const attentionPrefill = defineKernel({
  label: 'attention_prefill',
  code: `${attentionCommon}\n${attentionPrefillSource}`,
  bindings: { q: 'read', k_cache: 'read', v_cache: 'read', out: 'read_write' },
  uniforms: defineUniforms({ seq: 'u32', pos0: 'u32', capacity: 'u32', scale: 'f32' }),
});

const attentionCombine = defineKernel({
  label: 'attention_combine',
  code: attentionCombineSource,
  bindings: { partials: 'read', out: 'read_write' },
  uniforms: defineUniforms({ seq: 'u32' }),
});

/** Keys per flash-decoding chunk. */
export const ATTENTION_CHUNK = 256;

/** Floats of the partials buffer flash-decoding needs for `rows` query rows over `capacity` cached positions. */
export function attentionScratchSize(rows: number, numHeads: number, headDim: number, capacity: number): number {
  return rows * numHeads * Math.ceil(capacity / ATTENTION_CHUNK) * (headDim + 2);
}

/**
 * Causal GQA attention of q [seq, nh, hd] (rows at positions pos0 …) over caches [nkv, capacity, hd] → out [seq, nh·hd].
 * Several rows (prefill) take the tiled kernel (16 rows share each key/value block); one row (decode) with
 * `scratch` (attentionScratchSize floats) and more than one chunk of keys is split across workgroups and combined
 * (flash-decoding); otherwise one workgroup walks all keys of a (row, head).
 */
export function encodeAttention(
  ctx: GpuContext,
  pass: GPUComputePassEncoder,
  a: { q: Tensor; kCache: Tensor; vCache: Tensor; out: Tensor; seq: number; pos0: number; numHeads: number; scratch?: Tensor; /** Force the one-workgroup-per-row kernel (tests). */ simple?: boolean },
): void {
  const [nkv, capacity, hd] = a.kCache.shape as [number, number, number];
  if (hd > 512) throw new RangeError(`attention: head_dim ${hd} > 512 is not supported`);
  const params = { seq: a.seq, pos0: a.pos0, capacity, scale: 1 / Math.sqrt(hd) };
  const bindings = { q: a.q, k_cache: a.kCache, v_cache: a.vCache };
  if (a.seq > 1 && !a.simple) {
    if (hd > 256) throw new RangeError(`attention: head_dim ${hd} > 256 is not supported by the tiled prefill kernel`);
    const tile = hd > 128 ? 8 : 16;
    attentionPrefill.compile(ctx, { NH: a.numHeads, NKV: nkv, HD: hd, TQ: tile, KB: tile }).encode(pass, { ...bindings, out: a.out }, params, Math.ceil(a.seq / tile) * a.numHeads);
    return;
  }
  const chunks = Math.ceil((a.pos0 + a.seq) / ATTENTION_CHUNK);
  if (a.scratch && chunks > 1) {
    const maxChunks = Math.ceil(capacity / ATTENTION_CHUNK);
    if (a.scratch.numel < a.seq * a.numHeads * maxChunks * (hd + 2)) throw new RangeError('attention: scratch is smaller than attentionScratchSize()');
    attention
      .compile(ctx, { NH: a.numHeads, NKV: nkv, HD: hd, SPLIT: 1, CHUNK: ATTENTION_CHUNK, CHUNKS: maxChunks })
      .encode(pass, { ...bindings, out: a.scratch }, params, a.seq * a.numHeads * maxChunks);
    attentionCombine.compile(ctx, { NH: a.numHeads, HD: hd, CHUNKS: maxChunks }).encode(pass, { partials: a.scratch, out: a.out }, { seq: a.seq }, a.seq * a.numHeads);
    return;
  }
  attention.compile(ctx, { NH: a.numHeads, NKV: nkv, HD: hd }).encode(pass, { ...bindings, out: a.out }, params, a.seq * a.numHeads);
}

const sample = defineKernel({
  label: 'sample',
  code: `${reduceF32}\n${sampleSource}`,
  bindings: { logits: 'read', seen: 'read', out: 'read_write' },
  uniforms: defineUniforms({
    n: 'u32',
    row_offset: 'u32',
    top_k: 'u32',
    temperature: 'f32',
    top_p: 'f32',
    min_p: 'f32',
    repetition_penalty: 'f32',
    presence_penalty: 'f32',
    u: 'f32',
  }),
});

/** out[0] (u32) = the next token from logits[rowOffset … rowOffset + n) (sampling.ts semantics), u ∈ [0, 1). */
export function encodeSample(
  ctx: GpuContext,
  pass: GPUComputePassEncoder,
  a: { logits: Tensor; seen: Tensor; out: Tensor; n: number; rowOffset: number; sampling: ResolvedSampling; u: number },
): void {
  const s = a.sampling;
  sample.compile(ctx).encode(
    pass,
    { logits: a.logits, seen: a.seen, out: a.out },
    {
      n: a.n,
      row_offset: a.rowOffset,
      top_k: s.topK,
      temperature: s.temperature,
      top_p: s.topP,
      min_p: s.minP,
      repetition_penalty: s.repetitionPenalty,
      presence_penalty: s.presencePenalty,
      u: a.u,
    },
    1,
  );
}

const markSeen = defineKernel({
  label: 'mark_seen',
  code: markSeenSource,
  bindings: { ids: 'read', seen: 'read_write' },
  uniforms: defineUniforms({ seq: 'u32' }),
});

/** seen[ids[t]] = 1 for the seq ids. */
export function encodeMarkSeen(ctx: GpuContext, pass: GPUComputePassEncoder, a: { ids: Tensor; seen: Tensor; seq: number }): void {
  markSeen.compile(ctx).encode(pass, { ids: a.ids, seen: a.seen }, { seq: a.seq }, Math.ceil(a.seq / 64));
}
