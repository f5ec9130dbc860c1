import type { XSplit } from '@qwen3-webgpu/matmul';
import { defineKernel, defineUniforms, xSplitWgsl, type DispatchTarget, type GpuContext, type Tensor, type UniformPatch } from '@qwen3-webgpu/tensor';
import mergeSplitSource from './attention-flash-merge-split.wgsl';
import mergeSource from './attention-flash-merge.wgsl';
import source from './attention-flash.wgsl';

export interface FlashAttentionOptions {
  numHeads: number;
  numKvHeads: number;
  /** head_dim: a multiple of 16, at most 256. */
  headDim: number;
  /**
   * How the keys of a prompt are split across workgroups (given a scratch): at most `maxSplits` splits of at least
   * `minKeys` keys each (a multiple of 64). Default { maxSplits: 4, minKeys: 128 }; maxSplits 1 never splits. Only
   * prompts that start before their own length (pos0 < seq) split: there the causal triangle leaves the last row
   * blocks most of the keys; a chunk deep into a prompt gives every block about as many keys, and the merge only
   * costs (H200, bench/attention-flash.device.ts, per layer with the merge of one row a workgroup: 512 tokens at 0:
   * unsplit 0.090 ms, ≤ 8 × ≥ 64 keys 0.086, ≤ 4 × ≥ 128 0.083; 2,048 at 0: 0.909, 0.808, 0.778; 512 at 1,536:
   * 0.345, 0.362, 0.371); `always` splits those too (tests).
   */
  split?: { maxSplits?: number; minKeys?: number; always?: boolean };
  /**
   * Dims of Q and K staged through workgroup memory at a time: 8, 16 or 32. Default 16 where the adapter's workgroup
   * memory holds it (36 KiB at head_dim 128; H200: 11 % faster than 8), else 8.
   */
  dimsPerStage?: 8 | 16 | 32;
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
  /** Partials of the key splits: at least scratchSize(seq) f32; without it (or smaller) every workgroup walks all its keys. */
  scratch?: Tensor;
  /**
   * Also write `out` as the tensor-core GEMM reads it (x-split.wgsl; the next projection's GemmArgs.xSplit, k =
   * numHeads · headDim), so that GEMM skips its row-scale pass: the merge of the key splits writes it, and runs even
   * with one split. Needs the scratch (writesSplitX).
   */
  xSplit?: XSplit;
}

export interface FlashAttention {
  /**
   * f32 elements of the scratch that lets `rows` query rows split their keys: 0 when the handle never splits or when
   * that many partials would not fit one storage binding of this adapter (those prompts then walk their keys whole).
   */
  scratchSize(rows: number): number;
  /** Whether a prompt of `rows` rows can write FlashAttentionArgs.xSplit with this scratch (it must hold scratchSize(rows)). */
  writesSplitX(rows: number, scratch: Tensor | undefined): boolean;
  /**
   * Records causal GQA attention (scale headDim^-½, online softmax in f32): one dispatch, or two with the key splits
   * and their merge. Returns the setter of pos0 (a no-op for seq 0); the split count is fixed at encode, so a recorded
   * prompt replays only at positions whose keys need no more splits (the setter throws past them).
   */
  encode(target: DispatchTarget, args: FlashAttentionArgs): (pos0: number) => void;
}

const uniforms = defineUniforms({ seq: 'u32', pos0: 'u32', capacity: 'u32', scale: 'f32', keys_per_split: 'u32', splits: 'u32', partials: 'u32' });
/**
 * attention-flash-merge.wgsl for nh × hd and `chunks` splits: plain, and writing out split for the GEMM too (without
 * the split xs and row_exp are not declared: placeholders bound to them would alias `out`).
 */
const mergeKernels = (nh: number, hd: number, chunks: number) => {
  const wg = 256; // WG in attention-flash-merge.wgsl
  const ppt = Math.ceil((Math.ceil((nh * hd) / 64) * 32) / wg);
  const header = `${xSplitWgsl}\nconst NH: u32 = ${nh}u;\nconst HD: u32 = ${hd}u;\nconst CHUNKS: u32 = ${chunks}u;\nconst PPT: u32 = ${ppt}u;\n${mergeSource}`;
  const plainEmit = '@group(0) @binding(2) var<uniform> params: Params;\nfn emit_split(t: u32, lid: u32, v: array<vec2<f32>, PPT>, m: u32) {}';
  const uniforms = defineUniforms({ seq: 'u32', splits: 'u32', pos0: 'u32', keys_per_split: 'u32' });
  const label = `attention flash merge ${nh}x${hd}/${chunks}`;
  return {
    plain: defineKernel({ label, code: `${header}\n${plainEmit}`, bindings: { partials: 'read', out: 'read_write' }, uniforms }),
    split: defineKernel({
      label: `${label} split`,
      code: `${header}\n${mergeSplitSource}`,
      bindings: { partials: 'read', out: 'read_write', xs: 'read_write', row_exp: 'read_write' },
      uniforms,
    }),
  };
};
const bindings = { q: 'read', k_cache: 'read', v_cache: 'read', out: 'read_write' } as const;
/** Rows (position × head-in-group) per workgroup and keys per block: R and KB in attention-flash.wgsl. */
const ROWS_PER_GROUP = 64;
const KEYS_PER_BLOCK = 64;

/**
 * Flash-attention prefill (attention-flash.wgsl): each workgroup takes 64 (position, query head) rows of one kv
 * head and streams its keys 64 at a time through workgroup memory, so the G query heads sharing a kv head share
 * every K/V load and no score matrix is ever stored. Long prompts also split the keys across workgroups (a prompt of
 * 512 tokens is only 128 row blocks at Qwen3-0.6B: too few to fill a large GPU, each walking up to 512 keys) and
 * merge the splits with attention-combine.wgsl.
 */
export function createFlashAttention(ctx: GpuContext, options: FlashAttentionOptions): FlashAttention {
  const { numHeads, numKvHeads, headDim } = options;
  for (const [name, v] of Object.entries({ numHeads, numKvHeads, headDim })) {
    if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`attention-flash: ${name} must be a positive integer, got ${v}`);
  }
  if (numHeads % numKvHeads !== 0) throw new RangeError(`attention-flash: numHeads ${numHeads} must be a multiple of numKvHeads ${numKvHeads}`);
  if (headDim % 16 !== 0 || headDim > 256) throw new RangeError(`attention-flash: headDim must be a multiple of 16 up to 256, got ${headDim}`);
  const maxSplits = options.split?.maxSplits ?? 4;
  const minKeys = options.split?.minKeys ?? 128;
  if (!Number.isSafeInteger(maxSplits) || maxSplits < 1 || maxSplits > 1024)
    throw new RangeError(`attention-flash: split.maxSplits must be an integer in 1 … 1024, got ${maxSplits}`);
  if (!Number.isSafeInteger(minKeys) || minKeys < KEYS_PER_BLOCK || minKeys % KEYS_PER_BLOCK !== 0)
    throw new RangeError(`attention-flash: split.minKeys must be a positive multiple of ${KEYS_PER_BLOCK}, got ${minKeys}`);
  // Workgroup memory as attention-flash.wgsl declares it: qs, ks, pt (rows padded by a vec4), vs and vs4 (one of them
  // a 16-byte placeholder), row_m/l/alpha, part.
  const vc = headDim <= 32 ? 64 : headDim <= 64 ? 32 : headDim <= 128 ? 16 : 8;
  const sharedBytes = (dims: number) =>
    4 * (2 * dims * (ROWS_PER_GROUP + 4) + KEYS_PER_BLOCK * (ROWS_PER_GROUP + 4) + vc * headDim + 4 + 3 * ROWS_PER_GROUP + 256);
  const limit = ctx.limits.maxComputeWorkgroupStorageSize;
  const dc = options.dimsPerStage ?? (sharedBytes(16) <= limit ? 16 : 8);
  if (![8, 16, 32].includes(dc) || headDim % dc !== 0) throw new RangeError(`attention-flash: dimsPerStage must be 8, 16 or 32 and divide headDim, got ${dc}`);
  const shared = sharedBytes(dc);
  if (shared > limit)
    throw new RangeError(`attention-flash: ${shared} B of workgroup memory (headDim ${headDim}, dimsPerStage ${dc}) exceed this adapter's ${limit}`);
  const kernel = defineKernel({
    label: `attention flash hd${headDim} dc${dc}`,
    // HD and CHUNKS are consts: HD sizes each invocation's accumulator array (function-scope arrays need const
    // sizes); CHUNKS is the split stride of the partials, shared with the combine.
    code: `const HD: u32 = ${headDim}u;\nconst CHUNKS: u32 = ${maxSplits}u;\nconst DC: u32 = ${dc}u;\n${source}`,
    bindings,
    uniforms,
  }).compile(ctx, { NH: numHeads, NKV: numKvHeads });
  const merges = maxSplits > 1 ? mergeKernels(numHeads, headDim, maxSplits) : undefined;
  const combine = merges?.plain.compile(ctx);
  const combineSplit = merges?.split.compile(ctx);
  const group = numHeads / numKvHeads;
  const scratchSize = (rows: number) => {
    const floats = maxSplits > 1 ? rows * numHeads * maxSplits * (headDim + 2) : 0;
    return floats * 4 <= ctx.limits.maxStorageBufferBindingSize ? floats : 0;
  };
  /** Keys per split for a prompt whose last row sees nKeys keys: as few splits of minKeys or more as fit maxSplits. */
  const keysPerSplit = (nKeys: number) => {
    const blocks = Math.ceil(nKeys / KEYS_PER_BLOCK);
    return Math.max(minKeys / KEYS_PER_BLOCK, Math.ceil(blocks / maxSplits)) * KEYS_PER_BLOCK;
  };
  const scratchFor = (rows: number, scratch: Tensor | undefined) => {
    const need = scratchSize(rows);
    // Bound as a view of the partials this prompt needs: a larger buffer may exceed one binding.
    return need > 0 && scratch && scratch.dtype === 'f32' && scratch.numel >= need ? scratch.view([scratch.numel]).rows(0, need) : undefined;
  };
  return {
    scratchSize,
    writesSplitX: (rows, scratch) => rows > 0 && scratchFor(rows, scratch) !== undefined,
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
      if (seq === 0) return () => {};
      const nKeys = pos0 + seq;
      const scratch = scratchFor(seq, a.scratch);
      if (a.xSplit && !scratch) throw new RangeError(`attention-flash: xSplit needs a scratch of ${scratchSize(seq)} f32 for ${seq} rows (writesSplitX)`);
      // Unsplit: one split of the whole capacity, so that a recorded prompt replays at any later position.
      const perSplit = scratch && (pos0 < seq || options.split?.always) ? keysPerSplit(nKeys) : capacity;
      const splits = Math.ceil(nKeys / perSplit);
      // The merge runs when the keys split, and whenever it also writes the split of out.
      const merged = splits > 1 || a.xSplit !== undefined;
      const blocks = numKvHeads * Math.ceil((seq * group) / ROWS_PER_GROUP);
      const patches: UniformPatch<'pos0'>[] = [];
      patches.push(
        kernel.encode(
          target,
          { q: a.q, k_cache: a.kCache, v_cache: a.vCache, out: merged ? scratch! : a.out },
          { seq, pos0, capacity, scale: 1 / Math.sqrt(headDim), keys_per_split: perSplit, splits, partials: merged ? 1 : 0 },
          blocks * splits,
          {
            tag: 'attention flash',
            // K and V of the keys seen, once per workgroup of rows; q read and out (or the partials) written once.
            bytes: blocks * nKeys * headDim * 8 + seq * numHeads * headDim * 4 * (merged ? 1 + splits : 2),
          },
        ),
      );
      if (merged) {
        const split = a.xSplit;
        const meta = { tag: 'attention flash combine', bytes: seq * numHeads * headDim * 4 * (1 + splits + (split ? 1 : 0)) };
        const params = { seq, splits, pos0, keys_per_split: perSplit };
        patches.push(
          split
            ? combineSplit!.encode(target, { partials: scratch!, out: a.out, xs: split.xs, row_exp: split.rowExp }, params, seq, meta)
            : combine!.encode(target, { partials: scratch!, out: a.out }, params, seq, meta),
        );
      }
      return (p) => {
        if (Math.ceil((p + seq) / perSplit) > splits)
          throw new RangeError(`attention-flash: encoded for ${splits} key split(s) of ${perSplit}; position ${p} needs more, encode the prompt again`);
        for (const patch of patches) patch.set('pos0', p);
      };
    },
  };
}
