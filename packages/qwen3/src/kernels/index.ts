// The model's small kernels, each a factory bound to the context and its shapes that resolves its pipelines once
// and returns a handle; encode() records into a pass (immediate) or a DispatchList (replayed every decode step) and
// returns the setters of what changes per step.
import type { XSplit } from '@qwen3-webgpu/matmul';
import {
  createTensor,
  defineKernel,
  defineUniforms,
  dtypeWgsl,
  wgslDtypeCode,
  type DispatchTarget,
  type GpuContext,
  type RowPart,
  type Tensor,
  type UniformPatch,
} from '@qwen3-webgpu/tensor';
import attentionCommon from './attention-common.wgsl';
import attentionDecodeSource from './attention-decode.wgsl';
import attentionPrefillSource from './attention-prefill.wgsl';
import argmaxSource from './argmax.wgsl';
import attentionSource from './attention.wgsl';
import embeddingSource from './embedding.wgsl';
import markSeenSource from './mark-seen.wgsl';
import reduceF32 from './reduce-f32.wgsl';
import pickCommon from './pick-common.wgsl';
import sampleSource from './sample.wgsl';
import type { ResolvedSampling } from '../sampling.ts';
import { attentionCombine } from './attention-combine.ts';
import { createFlashAttention } from './attention-flash.ts';

export { createLinear } from './linear.ts';
export type { Linear, LinearArgs, LinearOptions } from './linear.ts';

const embedding = defineKernel({
  label: 'embedding',
  code: `${dtypeWgsl}\n${embeddingSource}`,
  bindings: { ids: 'read', table: 'read', out: 'read_write' },
  uniforms: defineUniforms({ seq: 'u32', hidden: 'u32', row_start: 'u32', row_count: 'u32' }),
});

export interface Embedding {
  /** out [seq, hidden] f32 = E[ids]: one dispatch per binding part of the table. ids: [≥ seq] u32. */
  encode(target: DispatchTarget, a: { ids: Tensor; out: Tensor; seq: number }): void;
}

/** Token embedding over the table's binding parts (E: [vocab, hidden], split when it exceeds one binding). */
export function createEmbedding(ctx: GpuContext, table: RowPart[]): Embedding {
  const first = table[0]!.tensor;
  const hidden = first.shape[1]!;
  const k = embedding.compile(ctx, { E_DTYPE: wgslDtypeCode(first.dtype) });
  return {
    encode(target, a) {
      for (const part of table) {
        k.encode(
          target,
          { ids: a.ids, table: part.tensor, out: a.out },
          { seq: a.seq, hidden, row_start: part.rowStart, row_count: part.rowCount },
          Math.ceil((a.seq * hidden) / 256),
          {
            tag: 'embedding',
            bytes: a.seq * hidden * (4 + first.byteLength / first.numel),
          },
        );
      }
    },
  };
}

const attentionUniforms = defineUniforms({ seq: 'u32', pos0: 'u32', capacity: 'u32', scale: 'f32' });
const attentionBindings = { q: 'read', k_cache: 'read', v_cache: 'read', out: 'read_write' } as const;
const attention = defineKernel({
  label: 'attention',
  code: `${attentionCommon}\n${reduceF32}\n${attentionSource}`,
  bindings: attentionBindings,
  uniforms: attentionUniforms,
});
const attentionPrefill = defineKernel({
  label: 'attention_prefill',
  code: `${attentionCommon}\n${attentionPrefillSource}`,
  bindings: attentionBindings,
  uniforms: attentionUniforms,
});
const attentionDecode = defineKernel({
  label: 'attention_decode',
  code: `enable subgroups;\n${dtypeWgsl}\n${attentionDecodeSource}`,
  bindings: { q: 'read', k_cache: 'read_write', v_cache: 'read', out: 'read_write', q_norm: 'read', k_norm: 'read', rope: 'read' },
  uniforms: defineUniforms({ seq: 'u32', pos0: 'u32', capacity: 'u32', scale: 'f32', eps: 'f32' }),
});

type GroupedKernel = ReturnType<typeof attentionDecode.compile>;

/** Keys per flash-decoding chunk. */
export const ATTENTION_CHUNK = 128;
/**
 * Keys up to which a decode step on the grouped kernel may take one workgroup per KV head over all of them and
 * write its output itself (AttentionArgs.direct): no combine dispatch, for steps at short contexts.
 */
const DIRECT_DECODE_KEYS = 256;
/**
 * Threads of a direct step's workgroup where its workgroup memory fits (else the most that do; 256 for chunks): a
 * direct step runs one workgroup per KV head, so latency bounds it and twice the threads keep twice the loads in
 * flight. H200, 32-token prompt + 256 tokens: a step's pass at 236 cached positions 1.70 ms (1.94 with 256), median
 * over the run 1.57 ms (1.72); 1024 threads was slower below ~200 positions (BENCHMARKS.md, eleventh session).
 */
const DIRECT_WORKGROUP = 512;
/** Query heads per KV head the grouped decode kernel takes at most (its per-thread arrays; CPL ≤ 4 vec4 columns a lane). */
const MAX_GROUP = 8;

/** Floats of the partials buffer flash-decoding needs for `rows` query rows over `capacity` cached positions. */
export function attentionScratchSize(rows: number, numHeads: number, headDim: number, capacity: number): number {
  return rows * numHeads * Math.ceil(capacity / ATTENTION_CHUNK) * (headDim + 2);
}

export interface AttentionOptions {
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  /** Cached positions (the KV caches' middle dimension). */
  capacity: number;
  /**
   * Decode steps may take q and the new key raw and apply Qwen3's QK-norm + RoPE themselves (one dispatch fewer per
   * layer) where the grouped decode kernel runs: the norm's eps and the norm weights' dtype. See fusesQkNormRope().
   */
  qkNorm?: { eps: number; dtype: Tensor['dtype'] };
}

/** What the attention needs to apply QK-norm + RoPE itself (AttentionOptions.qkNorm). */
export interface QkNormRopeArgs {
  /** q_norm, k_norm: [hd]. */
  qNorm: Tensor;
  kNorm: Tensor;
  /** RoPE table [positions, hd/2, 2] f32 (qkv-rope's). */
  rope: Tensor;
}

export interface AttentionArgs {
  /** q: [seq, nh, hd] f32 (rows at positions pos0 …). */
  q: Tensor;
  /** [nkv, capacity, hd] f32 each. */
  kCache: Tensor;
  vCache: Tensor;
  /** out: [seq, nh·hd] f32. */
  out: Tensor;
  seq: number;
  pos0: number;
  /**
   * Partials of split keys (Attention.scratchSize floats): one-row steps split the keys with it (flash-decoding),
   * and prompts on flash attention split theirs too.
   */
  scratch?: Tensor;
  /** Force the one-workgroup-per-row kernel (tests). */
  simple?: boolean;
  /** Several rows: force the 16-row tiled kernel instead of flash attention (tests, benchmarks). */
  tiled?: boolean;
  /** With fusesQkNormRope(seq): q and the key at pos0 are raw; normalize and rotate them with these. */
  qkNorm?: QkNormRopeArgs;
  /**
   * A one-row step whose keys (pos0 + 1) stay within directDecodeKeys: one workgroup per KV head walks them all and
   * writes `out` itself, no partials and no combine (a recording for short contexts; its position setter refuses
   * positions past that).
   */
  direct?: boolean;
  /**
   * Where writesSplitX(seq, scratch): also write out split as the tensor-core GEMM reads it (o_proj's GemmArgs.xSplit;
   * flash attention's merge writes it).
   */
  xSplit?: XSplit;
}

export interface Attention {
  /** f32 elements of AttentionArgs.scratch that let one-row steps and prompts of up to `rows` rows split their keys. */
  scratchSize(rows: number): number;
  /**
   * Whether a step of `seq` rows can take q and the new key raw and apply QK-norm + RoPE itself (AttentionOptions.qkNorm,
   * on the grouped decode kernel, with norm weights of the dtype given there).
   */
  fusesQkNormRope(seq: number, normDtype: Tensor['dtype']): boolean;
  /** Keys up to which a one-row step may take AttentionArgs.direct (0: never, this adapter runs no grouped kernel). */
  readonly directDecodeKeys: number;
  /** Whether a step of `seq` rows with this scratch can write AttentionArgs.xSplit (prompts on flash attention). */
  writesSplitX(seq: number, scratch: Tensor | undefined): boolean;
  /** Records attention; returns the setter of the first row's position (for a replayed decode step). */
  encode(target: DispatchTarget, a: AttentionArgs): (pos0: number) => void;
}

/**
 * Causal GQA attention of q over the KV caches. Several rows (prefill) take flash attention on GPUs
 * (attention-flash.wgsl: 64 rows of one KV head share each K/V block in workgroup memory) and the tiled kernel
 * elsewhere (16 rows share each key/value block); one row with `scratch` on a GPU is split into chunks of ATTENTION_CHUNK
 * keys across workgroups and combined (flash-decoding) — always, whatever the position, so a recorded step replays
 * at any length (chunks past the causal end weigh nothing) — or, recorded `direct` for short contexts, walks up to
 * directDecodeKeys keys in one workgroup per KV head without a combine; otherwise (and on CPU adapters) one workgroup
 * walks all keys of a (row, head).
 */
export function createAttention(ctx: GpuContext, o: AttentionOptions): Attention {
  const { numHeads: nh, numKvHeads: nkv, headDim: hd, capacity } = o;
  if (hd > 512) throw new RangeError(`attention: head_dim ${hd} > 512 is not supported`);
  const maxChunks = Math.ceil(capacity / ATTENTION_CHUNK);
  const tile = hd > 128 ? 8 : 16;
  const prefill = hd <= 256 ? attentionPrefill.compile(ctx, { NH: nh, NKV: nkv, HD: hd, TQ: tile, KB: tile }) : undefined;
  const split = attention.compile(ctx, { NH: nh, NKV: nkv, HD: hd, SPLIT: 1, CHUNK: ATTENTION_CHUNK, CHUNKS: maxChunks });
  const combine = attentionCombine.compile(ctx, { NH: nh, HD: hd, CHUNKS: maxChunks });
  // One workgroup per (row, head) over every key. On CPU adapters (decode's attention there) 16 threads, or the fewest
  // that own head_dim with four dims each: lavapipe runs a workgroup's lanes as coroutines on one core, and each key
  // block's two reductions are barriers they all pass (the demonstration model's 6 dispatches a step at ~70 cached
  // positions: 1.2–1.3 ms against 1.8–2.5 with 128 threads).
  const simpleThreads = ctx.kernelLayout === 'cpu' ? Math.max(16, 2 ** Math.ceil(Math.log2(Math.ceil(hd / 4)))) : 128;
  const simple = attention.compile(ctx, { NH: nh, NKV: nkv, HD: hd, WG: simpleThreads });
  const flash =
    ctx.kernelLayout === 'gpu' && hd % 16 === 0 && hd <= 256 && nh % nkv === 0
      ? createFlashAttention(ctx, { numHeads: nh, numKvHeads: nkv, headDim: hd })
      : undefined;
  // Decode steps on GPUs: attention-decode.wgsl (K/V read once per KV head, as vec4s) where the adapter has fixed-size
  // subgroups and the group's buffers fit in workgroup memory; else the per-head split kernel.
  const group = nh / nkv;
  const sg = ctx.info.subgroupMinSize;
  // attention-decode.wgsl's workgroup bytes with `wg` threads: qs and kn (the normalized q heads and new key), heads
  // (the raw ones), norms and rope_row (the QK-norm weights and the rope row), parts (each subgroup's output columns
  // per head) and each subgroup's max and sum per head.
  const slices = (wg: number) => wg / Math.max(1, sg);
  const decodeShared = (wg: number) => 4 * (group * hd + hd + (group + 1) * hd + 3 * hd + group * slices(wg) * hd + 2 * group * slices(wg));
  const { maxComputeInvocationsPerWorkgroup: maxThreads, maxComputeWorkgroupSizeX: maxX } = ctx.limits;
  // The most threads (of `choices`) whose workgroup memory fits; one subgroup at least.
  const threadsFor = (choices: number[]) =>
    choices.find((wg) => wg >= sg && wg <= maxThreads && wg <= maxX && decodeShared(wg) <= ctx.limits.maxComputeWorkgroupStorageSize);
  const groupedWg =
    ctx.kernelLayout === 'gpu' &&
    ctx.features.subgroups &&
    sg > 0 &&
    sg === ctx.info.subgroupMaxSize &&
    hd % 4 === 0 &&
    hd / 4 <= 4 * sg &&
    Number.isInteger(group) &&
    group <= MAX_GROUP
      ? threadsFor([256, 128, 64, 32])
      : undefined;
  const canGroup = groupedWg !== undefined;
  const fuse = canGroup && o.qkNorm !== undefined && hd <= 256 && hd % 2 === 0;
  const decodeConstants = { NH: nh, NKV: nkv, HD: hd, CHUNK: ATTENTION_CHUNK, CHUNKS: maxChunks, SG: sg, WG: groupedWg ?? 256 };
  const grouped = canGroup ? attentionDecode.compile(ctx, decodeConstants) : undefined;
  const normRope = fuse ? { NORM_ROPE: 1, N_DTYPE: wgslDtypeCode(o.qkNorm!.dtype) } : undefined;
  const groupedNormRope = normRope ? attentionDecode.compile(ctx, { ...decodeConstants, ...normRope }) : undefined;
  // Direct steps: one chunk of DIRECT_DECODE_KEYS keys, on DIRECT_WORKGROUP threads where they fit.
  const directKeys = Math.min(DIRECT_DECODE_KEYS, capacity);
  const directWg = canGroup ? threadsFor([DIRECT_WORKGROUP, 256, 128, 64, 32]) : undefined;
  const directConstants = { ...decodeConstants, CHUNK: directKeys, CHUNKS: 1, DIRECT: 1, WG: directWg ?? 256 };
  const direct = directWg
    ? { plain: attentionDecode.compile(ctx, directConstants), normRope: normRope && attentionDecode.compile(ctx, { ...directConstants, ...normRope }) }
    : undefined;
  // A decode row splits its keys into chunks on GPUs only. A CPU adapter (lavapipe) runs few workgroups at a time
  // and pays for each one, including the chunks past the causal end that a recorded step must launch: there one
  // workgroup per head walks the live keys, and no combine pass follows.
  const splitsKeys = ctx.kernelLayout === 'gpu';
  return {
    scratchSize: (rows) => Math.max(attentionScratchSize(1, nh, hd, capacity), flash?.scratchSize(rows) ?? 0),
    fusesQkNormRope: (seq, normDtype) => fuse && seq === 1 && normDtype === o.qkNorm?.dtype,
    directDecodeKeys: direct ? directKeys : 0,
    writesSplitX: (seq, scratch) => seq > 1 && flash !== undefined && flash.writesSplitX(seq, scratch),
    encode(target, a) {
      if (a.kCache.shape[1] !== capacity || a.kCache.shape[0] !== nkv || a.kCache.shape[2] !== hd)
        throw new RangeError(`attention: caches must be [${nkv}, ${capacity}, ${hd}], got [${a.kCache.shape}]`);
      const params = { seq: a.seq, pos0: a.pos0, capacity, scale: 1 / Math.sqrt(hd) };
      const bindings = { q: a.q, k_cache: a.kCache, v_cache: a.vCache };
      // K and V of the positions seen, q and the output (f32).
      let keys = a.pos0 + a.seq;
      const bytes = () => 2 * nkv * keys * hd * 4 * (nh / nkv) + 2 * a.seq * nh * hd * 4;
      const patches: UniformPatch<'pos0'>[] = [];
      const combines: UniformPatch<'live'>[] = [];
      // Flash attention sets its own position (its key splits are fixed at encode).
      const setters: ((pos0: number) => void)[] = [];
      const live = (pos0: number) => Math.ceil((pos0 + a.seq) / ATTENTION_CHUNK);
      const at = (pos0: number) => {
        if (pos0 + a.seq > capacity) throw new RangeError(`attention: positions ${pos0}…${pos0 + a.seq - 1} overflow the cache capacity ${capacity}`);
        keys = pos0 + a.seq;
        for (const p of patches) p.set('pos0', pos0);
        for (const p of combines) p.set('live', live(pos0));
        for (const set of setters) set(pos0);
      };
      // The grouped kernel (plain, or with QK-norm + RoPE) into `out`: partials of every chunk, or a direct output.
      const encodeGrouped = (kernels: { plain: GroupedKernel; normRope: GroupedKernel | undefined }, out: Tensor, workgroups: number) => {
        if (a.qkNorm && (!kernels.normRope || a.qkNorm.qNorm.dtype !== o.qkNorm!.dtype || a.qkNorm.kNorm.dtype !== o.qkNorm!.dtype)) {
          throw new TypeError('attention: qkNorm given where fusesQkNormRope() is false');
        }
        // Without the fusion the norm bindings are unused: q stands in for them.
        const norm = a.qkNorm ? { q_norm: a.qkNorm.qNorm, k_norm: a.qkNorm.kNorm, rope: a.qkNorm.rope } : { q_norm: a.q, k_norm: a.q, rope: a.q };
        const kernel = a.qkNorm ? kernels.normRope! : kernels.plain;
        patches.push(
          kernel.encode(target, { ...bindings, ...norm, out }, { ...params, eps: o.qkNorm?.eps ?? 0 }, workgroups, {
            tag: a.qkNorm ? 'attention+qk_norm' : 'attention',
            bytes: () => 2 * nkv * keys * hd * 4 + 2 * nh * hd * 4,
          }),
        );
      };
      if (a.direct) {
        if (!direct || a.seq !== 1) throw new TypeError('attention: direct given for more than one row or where directDecodeKeys is 0');
        const refuse = (pos0: number) => {
          if (pos0 + 1 > directKeys) throw new RangeError(`attention: a direct step sees at most ${directKeys} keys, not ${pos0 + 1}`);
        };
        refuse(a.pos0);
        encodeGrouped(direct, a.out, nkv);
        return (pos0) => {
          refuse(pos0);
          at(pos0);
        };
      }
      const flashRuns = a.seq > 1 && !a.simple && flash && !a.tiled;
      if (a.xSplit && !(flashRuns && flash.writesSplitX(a.seq, a.scratch))) throw new TypeError('attention: xSplit given where writesSplitX() is false');
      if (flashRuns) {
        const flashArgs = { q: a.q, kCache: a.kCache, vCache: a.vCache, out: a.out, seq: a.seq, pos0: a.pos0 };
        setters.push(flash.encode(target, { ...flashArgs, ...(a.scratch ? { scratch: a.scratch } : {}), ...(a.xSplit ? { xSplit: a.xSplit } : {}) }));
      } else if (a.seq > 1 && !a.simple) {
        if (!prefill) throw new RangeError(`attention: head_dim ${hd} > 256 is not supported by the tiled prefill kernel`);
        patches.push(prefill.encode(target, { ...bindings, out: a.out }, params, Math.ceil(a.seq / tile) * nh, { tag: 'attention', bytes }));
      } else if (a.scratch && splitsKeys && (maxChunks > 1 || grouped) && !a.simple) {
        if (a.scratch.numel < a.seq * nh * maxChunks * (hd + 2)) throw new RangeError('attention: scratch is smaller than attentionScratchSize()');
        if (grouped && a.seq === 1) {
          encodeGrouped({ plain: grouped, normRope: groupedNormRope }, a.scratch, nkv * maxChunks);
        } else {
          patches.push(split.encode(target, { ...bindings, out: a.scratch }, params, a.seq * nh * maxChunks, { tag: 'attention', bytes }));
        }
        const combineBytes = () => a.seq * nh * (live(keys - a.seq) * (hd + 2) + hd) * 4;
        combines.push(
          combine.encode(target, { partials: a.scratch, out: a.out }, { seq: a.seq, live: live(a.pos0) }, a.seq * nh, {
            tag: 'attention combine',
            bytes: combineBytes,
          }),
        );
      } else {
        patches.push(simple.encode(target, { ...bindings, out: a.out }, params, a.seq * nh, { tag: 'attention', bytes }));
      }
      return at;
    },
  };
}

const sampleUniforms = defineUniforms({
  n: 'u32',
  row_offset: 'u32',
  top_k: 'u32',
  temperature: 'f32',
  top_p: 'f32',
  min_p: 'f32',
  repetition_penalty: 'f32',
  presence_penalty: 'f32',
  u: 'f32',
});
const sample = defineKernel({
  label: 'sample',
  code: `${reduceF32}\n${pickCommon}\n${sampleSource}`,
  bindings: { logits: 'read', seen: 'read', out: 'read_write' },
  uniforms: sampleUniforms,
});

export interface SampleArgs {
  /** logits: [.., n] f32, the row at element rowOffset. */
  logits: Tensor;
  /** seen: [n] u32 (1 = in the context, for the penalties). */
  seen: Tensor;
  /** out: [1] u32, the picked id. */
  out: Tensor;
  rowOffset: number;
  sampling: ResolvedSampling;
  /** The uniform draw in [0, 1). */
  u: number;
}

export interface SampleStep {
  /** Changes the draw (and the sampling settings) of a recorded dispatch; greedy stays greedy (record each). */
  set(sampling: ResolvedSampling, u: number): void;
}

export interface Sampler {
  encode(target: DispatchTarget, a: SampleArgs): SampleStep;
  destroy(): void;
}

function sampleParams(n: number, rowOffset: number, s: ResolvedSampling, u: number) {
  return {
    n,
    row_offset: rowOffset,
    top_k: s.topK,
    temperature: s.temperature,
    top_p: s.topP,
    min_p: s.minP,
    repetition_penalty: s.repetitionPenalty,
    presence_penalty: s.presencePenalty,
    u,
  };
}

const argmaxSpec = {
  code: `${pickCommon}\n${argmaxSource}`,
  bindings: { logits: 'read', seen: 'read', partials: 'read_write', out: 'read_write' },
  uniforms: defineUniforms({ n: 'u32', row_offset: 'u32', parts: 'u32', repetition_penalty: 'f32', presence_penalty: 'f32' }),
} as const;
const argmaxPart = defineKernel({ ...argmaxSpec, label: 'argmax_part', entryPoint: 'argmax_part' });
const argmaxPick = defineKernel({ ...argmaxSpec, label: 'argmax_pick', entryPoint: 'argmax_pick' });
/** Logits per workgroup of argmax_part (argmax.wgsl's PER_GROUP). */
const ARGMAX_PER_GROUP = 1024;

/**
 * out[0] (u32) = the next token from a row of n logits (sampling.ts semantics). Temperature 0 takes the two-step
 * parallel argmax (argmax.wgsl); sampling takes one workgroup (sample.wgsl).
 */
export function createSampler(ctx: GpuContext, n: number): Sampler {
  // 64 threads on CPU adapters (sample.wgsl, argmax.wgsl: fewer idle lanes through each reduction's barriers).
  const threads = { WG: ctx.kernelLayout === 'cpu' ? 64 : 256 };
  const k = sample.compile(ctx, threads);
  const part = argmaxPart.compile(ctx, threads);
  const pick = argmaxPick.compile(ctx, threads);
  const parts = Math.ceil(n / ARGMAX_PER_GROUP);
  const partials = createTensor(ctx, [2 * parts], 'u32', { label: 'argmax partials' });
  const greedyParams = (rowOffset: number, s: ResolvedSampling) => ({
    n,
    row_offset: rowOffset,
    parts,
    repetition_penalty: s.repetitionPenalty,
    presence_penalty: s.presencePenalty,
  });
  return {
    encode(target, a) {
      const greedy = a.sampling.temperature <= 0;
      if (greedy) {
        const bound = { logits: a.logits, seen: a.seen, partials, out: a.out };
        const p = greedyParams(a.rowOffset, a.sampling);
        const patches = [
          part.encode(target, bound, p, parts, { tag: 'sample', bytes: n * 8 }),
          pick.encode(target, bound, p, 1, { tag: 'sample', bytes: parts * 8 }),
        ];
        return {
          set(s) {
            if (s.temperature > 0) throw new Error('sampler: a greedy dispatch cannot sample; record a sampling one');
            const v = greedyParams(a.rowOffset, s);
            for (const patch of patches) {
              patch.set('repetition_penalty', v.repetition_penalty);
              patch.set('presence_penalty', v.presence_penalty);
            }
          },
        };
      }
      const patch = k.encode(target, { logits: a.logits, seen: a.seen, out: a.out }, sampleParams(n, a.rowOffset, a.sampling, a.u), 1, {
        tag: 'sample',
        bytes: n * 8,
      });
      return {
        set(s, u) {
          if (s.temperature <= 0) throw new Error('sampler: a sampling dispatch is not the greedy one; record a greedy one');
          const p = sampleParams(n, a.rowOffset, s, u);
          for (const f of sampleUniforms.fields) patch.set(f.name, p[f.name]);
        },
      };
    },
    destroy() {
      partials.destroy();
    },
  };
}

const markSeen = defineKernel({
  label: 'mark_seen',
  code: markSeenSource,
  bindings: { ids: 'read', seen: 'read_write' },
  uniforms: defineUniforms({ seq: 'u32' }),
});

export interface MarkSeen {
  /** seen[ids[t]] = 1 for the seq ids. */
  encode(target: DispatchTarget, a: { ids: Tensor; seen: Tensor; seq: number }): void;
}

export function createMarkSeen(ctx: GpuContext): MarkSeen {
  const k = markSeen.compile(ctx);
  return {
    encode(target, a) {
      k.encode(target, { ids: a.ids, seen: a.seen }, { seq: a.seq }, Math.ceil(a.seq / 64), { tag: 'mark_seen', bytes: a.seq * 8 });
    },
  };
}
