import { defineKernel, defineUniforms, type DispatchTarget, type GpuContext, type Tensor, type UniformPatch } from '@qwen3-webgpu/tensor';
import source from './attention-flash.wgsl';

export interface FlashAttentionOptions {
  numHeads: number;
  numKvHeads: number;
  /** head_dim: a multiple of 16, at most 256. */
  headDim: number;
}

export interface FlashAttentionArgs {
  /** q: [seq, numHeads, headDim] f32, rows at positions pos0 … pos0 + seq − 1. */
  q: Tensor;
  /** kCache, vCache: [numKvHeads, capacity, headDim] f32, positions 0 … pos0 + seq − 1 filled. */
  kCache: Tensor;
  vCache: Tensor;
  /** out: [seq, numHeads · headDim] f32. */
  out: Tensor;
  seq: number;
  pos0: number;
}

export interface FlashAttention {
  /** Records causal GQA attention (scale headDim^-½, online softmax in f32); returns the patch of pos0 (none for seq 0). */
  encode(target: DispatchTarget, args: FlashAttentionArgs): UniformPatch<'pos0'> | undefined;
}

const uniforms = defineUniforms({ seq: 'u32', pos0: 'u32', capacity: 'u32', scale: 'f32' });
const bindings = { q: 'read', k_cache: 'read', v_cache: 'read', out: 'read_write' } as const;
/** Rows (position × head-in-group) per workgroup: R in attention-flash.wgsl. */
const ROWS_PER_GROUP = 64;

/**
 * Flash-attention prefill (attention-flash.wgsl): each workgroup takes 64 (position, query head) rows of one kv
 * head and streams its keys 64 at a time through workgroup memory, so the G query heads sharing a kv head share
 * every K/V load and no score matrix is ever stored.
 */
export function createFlashAttention(ctx: GpuContext, options: FlashAttentionOptions): FlashAttention {
  const { numHeads, numKvHeads, headDim } = options;
  for (const [name, v] of Object.entries(options)) {
    if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`attention-flash: ${name} must be a positive integer, got ${v}`);
  }
  if (numHeads % numKvHeads !== 0) throw new RangeError(`attention-flash: numHeads ${numHeads} must be a multiple of numKvHeads ${numKvHeads}`);
  if (headDim % 16 !== 0 || headDim > 256) throw new RangeError(`attention-flash: headDim must be a multiple of 16 up to 256, got ${headDim}`);
  const kernel = defineKernel({
    label: `attention flash hd${headDim}`,
    // HD is a const: it sizes each invocation's accumulator array (function-scope arrays need const sizes).
    code: `const HD: u32 = ${headDim}u;\n${source}`,
    bindings,
    uniforms,
  }).compile(ctx, { NH: numHeads, NKV: numKvHeads });
  const group = numHeads / numKvHeads;
  return {
    encode(target, a) {
      const { seq, pos0 } = a;
      if (!Number.isSafeInteger(seq) || seq < 0 || !Number.isSafeInteger(pos0) || pos0 < 0) {
        throw new RangeError(`attention-flash: seq and pos0 must be non-negative integers, got ${seq} and ${pos0}`);
      }
      for (const [t, name] of [
        [a.q, 'q'],
        [a.kCache, 'kCache'],
        [a.vCache, 'vCache'],
        [a.out, 'out'],
      ] as const) {
        if (t.dtype !== 'f32') throw new TypeError(`attention-flash: ${name} must be f32, got ${t.dtype}`);
      }
      const [nkv, capacity, hd] = a.kCache.shape as [number, number, number];
      if (nkv !== numKvHeads || hd !== headDim || a.vCache.shape.join() !== a.kCache.shape.join()) {
        throw new RangeError(`attention-flash: caches must be [${numKvHeads}, capacity, ${headDim}], got k [${a.kCache.shape}] v [${a.vCache.shape}]`);
      }
      if (pos0 + seq > capacity) throw new RangeError(`attention-flash: positions up to ${pos0 + seq} exceed the cache capacity ${capacity}`);
      if (a.q.numel < seq * numHeads * headDim) throw new RangeError(`attention-flash: q [${a.q.shape}] is smaller than [${seq}, ${numHeads}, ${headDim}]`);
      if (a.out.numel < seq * numHeads * headDim) throw new RangeError(`attention-flash: out [${a.out.shape}] is smaller than [${seq}, ${numHeads * headDim}]`);
      if (seq === 0) return undefined;
      const groups = numKvHeads * Math.ceil((seq * group) / ROWS_PER_GROUP);
      return kernel.encode(
        target,
        { q: a.q, k_cache: a.kCache, v_cache: a.vCache, out: a.out },
        { seq, pos0, capacity, scale: 1 / Math.sqrt(headDim) },
        groups,
        {
          tag: 'attention flash',
          // K and V of the keys seen, once per workgroup of rows; q read and out written once.
          bytes: Math.ceil((seq * group) / ROWS_PER_GROUP) * numKvHeads * (pos0 + seq) * headDim * 8 + 2 * seq * numHeads * headDim * 4,
        },
      );
    },
  };
}
