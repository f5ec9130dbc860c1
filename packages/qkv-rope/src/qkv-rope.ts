import {
  defineKernel,
  defineUniforms,
  dtypeBytes,
  dtypeWgsl,
  gemvLanes,
  laneReduceVariant,
  laneReduceWgsl,
  wgslDtypeCode,
  type DispatchTarget,
  type GpuContext,
  type Tensor,
  type UniformPatch,
} from '@qwen3-webgpu/tensor';
import common from './common.wgsl';
import dot from './dot.wgsl';
import decodeBody from './qkv-decode.wgsl';
import gemvBody from './qkv-gemv.wgsl';
import gemv4Body from './qkv-gemv4.wgsl';
import normRopeBody from './qkv-normrope.wgsl';
import prefillBody from './qkv-prefill.wgsl';
import projectedBody from './qkv-projected.wgsl';
import { ropeTable } from './rope-table.ts';

export interface QkvRopeOptions {
  hidden: number;
  numHeads: number;
  numKvHeads: number;
  /** Even, ≤ 256. */
  headDim: number;
  /** RMSNorm eps of q_norm / k_norm; default 1e-6. */
  eps?: number;
  /** RoPE base; default 1e6 (Qwen3). */
  ropeTheta?: number;
  /** Positions the RoPE table covers (first position + rows must stay below); default 4096. */
  maxPositions?: number;
}

export interface QkvRopeArgs {
  /** x: [seq, hidden] f32 (normalized activations). */
  x: Tensor;
  /** Wq [nh·hd, hidden], Wk and Wv [nkv·hd, hidden]: one dtype of bf16, f16, f32. */
  wq: Tensor;
  wk: Tensor;
  wv: Tensor;
  /** q_norm, k_norm: [hd], bf16, f16 or f32. */
  qNorm: Tensor;
  kNorm: Tensor;
  /** q: [seq, nh, hd] f32. */
  q: Tensor;
  /**
   * k, v: [seq, nkv, hd] f32; or, with kvLayout 'cache', KV caches [nkv, capacity, hd] f32 written at rows
   * position … position + seq − 1 (everything else untouched).
   */
  k: Tensor;
  v: Tensor;
  kvLayout?: 'rows' | 'cache';
  seq: number;
  /** Absolute position of the first row. */
  position: number;
  /**
   * 'decode' (seq = 1: one fused dispatch, a workgroup per head), 'decode-split' (seq = 1: a GEMV over many
   * workgroups, then QK-norm + RoPE in place: two dispatches) or 'prefill' (tiled). Default: decode-split for
   * seq = 1 (measured 2× faster than the fused decode on H100: the fused kernel has only one workgroup per head),
   * prefill otherwise. 'decode-projection' (seq = 1) is decode-split's GEMV alone: q, k, v raw, QK-norm and RoPE
   * left to a caller that applies them itself (qwen3's decode attention, with `rope` below). 'projected' (any seq)
   * is the other half: x holds q | k | v already projected, [seq, (nh + 2·nkv)·hd] f32 (from a faster GEMM), and
   * only QK-norm + RoPE + the stores run; the weights are then not read (pass them all the same).
   */
  path?: QkvPath;
  /**
   * Multiplies every projection before QK-norm and RoPE: 2^-s where Wq, Wk, Wv hold W · 2^s (weights stored as f16 by
   * @qwen3-webgpu/matmul's storeAsF16 for its tensor cores); default 1. A power of two, so exact.
   */
  wScale?: number;
  /**
   * Wq, Wk, Wv are f16 in matmul's tensor-core fragments (storeAsF16; with wScale = 2^-s): read by the one-row GEMV
   * of 'decode-split' and 'decode-projection' (16-byte-aligned rows) and not read by 'projected'; other paths refuse.
   */
  wFragments?: boolean;
}

export type QkvPath = 'decode' | 'decode-split' | 'decode-projection' | 'prefill' | 'projected';

export interface QkvRope {
  readonly options: Required<QkvRopeOptions>;
  /** The RoPE table the kernels read: [maxPositions, hd/2, 2] f32 (cos, sin), computed in float64 on the host. */
  readonly rope: Tensor;
  /**
   * Records the projection + QK-norm + RoPE into a pass or a DispatchList (one dispatch; two on the decode-split
   * path). Returns the setter of the first row's position, for a recorded step replayed at the next position.
   */
  encode(target: DispatchTarget, args: QkvRopeArgs): (position: number) => void;
}

const uniforms = defineUniforms({ seq: 'u32', hidden: 'u32', pos0: 'u32', kv_capacity: 'u32', eps: 'f32', w_scale: 'f32' });
const bindings = {
  x: 'read',
  wq: 'read',
  wk: 'read',
  wv: 'read',
  q_norm: 'read',
  k_norm: 'read',
  rope: 'read',
  q_out: 'read_write',
  k_out: 'read_write',
  v_out: 'read_write',
} as const;
const define = (label: string, ...parts: string[]) => defineKernel({ label, code: [dtypeWgsl, common, ...parts].join('\n'), bindings, uniforms });
const defineGemv4 = (reduce: string) => defineKernel({ label: 'qkv_rope_gemv4', code: [reduce, dtypeWgsl, gemv4Body].join('\n'), bindings, uniforms });
const defineProjected = (reduce: string) =>
  defineKernel({ label: 'qkv_rope_projected', code: [reduce, dtypeWgsl, common, projectedBody].join('\n'), bindings, uniforms });
const kernels = {
  decode: define('qkv_rope_decode', dot, decodeBody),
  gemv: define('qkv_rope_gemv', dot, gemvBody),
  gemv4: { subgroup: defineGemv4(laneReduceWgsl.subgroup), workgroup: defineGemv4(laneReduceWgsl.workgroup) },
  normRope: define('qkv_rope_norm_rope', normRopeBody),
  prefill: define('qkv_rope_prefill', prefillBody),
  projected: { subgroup: defineProjected(laneReduceWgsl.subgroup), workgroup: defineProjected(laneReduceWgsl.workgroup) },
};
const WG = 256;
/**
 * Threads of decode-split's QK-norm + RoPE workgroup: the epilogue gives a row 16 lanes and a decode step has one row,
 * so more threads only wait at its barriers (lavapipe, which runs a workgroup's lanes as coroutines on one core: the
 * demonstration model's 6 dispatches a step took 475 µs with 256 threads).
 */
const NORM_ROPE_WG = 16;
/** Threads per (task, token) row on the projected path (qkv-projected.wgsl's LANES): WG / 32 rows a workgroup. */
const PROJECTED_LANES = 32;

function fail(msg: string): never {
  throw new RangeError(`qkv-rope: ${msg}`);
}

function expectShape(name: string, t: Tensor, shape: number[]) {
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) fail(`${name} must be [${shape.join(', ')}], got [${t.shape.join(', ')}]`);
}

function floatDtype(name: string, t: Tensor): 'f32' | 'bf16' | 'f16' {
  if (t.dtype === 'u32' || t.dtype === 'i32') fail(`${name} must be bf16, f16 or f32, got ${t.dtype}`);
  return t.dtype as 'f32' | 'bf16' | 'f16';
}

export function createQkvRope(ctx: GpuContext, options: QkvRopeOptions): QkvRope {
  const o: Required<QkvRopeOptions> = { eps: 1e-6, ropeTheta: 1e6, maxPositions: 4096, ...options };
  const { hidden, numHeads: nh, numKvHeads: nkv, headDim: hd } = o;
  for (const [k, v] of Object.entries({ hidden, numHeads: nh, numKvHeads: nkv, headDim: hd, maxPositions: o.maxPositions })) {
    if (!Number.isSafeInteger(v) || v < 1) fail(`${k} must be a positive integer, got ${v}`);
  }
  if (hd % 2 !== 0 || hd > 256) fail(`headDim must be even and ≤ 256, got ${hd}`);
  if (nh % nkv !== 0) fail(`numHeads ${nh} must be a multiple of numKvHeads ${nkv}`);
  if (ctx.limits.maxStorageBuffersPerShaderStage < 10)
    fail(`needs 10 storage buffers per stage; this adapter allows ${ctx.limits.maxStorageBuffersPerShaderStage}`);
  // Prefill tiles: 32 token rows (16 when head_dim > 128), KT hidden columns at a time; the weight tile shares
  // head_out's storage.
  const tm = hd > 128 ? 16 : 32;
  const kt = hd > 128 ? 16 : 32;
  const headOut = { decode: hd, prefill: Math.max(tm * hd, hd * (kt + 1)) };
  const decodeWg = Math.min(1024, ctx.limits.maxComputeInvocationsPerWorkgroup);
  const shared: Record<QkvPath, number> = {
    decode: (hd * 32 + hd + decodeWg) * 4,
    'decode-split': (hd + WG + WG) * 4,
    'decode-projection': WG * 4,
    prefill: (tm * kt + headOut.prefill + WG) * 4,
    projected: (WG + WG / PROJECTED_LANES) * 4,
  };
  const table = ropeTable(ctx, hd, o.ropeTheta, o.maxPositions);
  const tasks = nh + 2 * nkv;

  return {
    options: o,
    rope: table,
    encode(target, a) {
      const { seq, position } = a;
      if (!Number.isSafeInteger(seq) || seq < 1) fail(`seq must be a positive integer, got ${seq}`);
      if (!Number.isSafeInteger(position) || position < 0) fail(`position must be a non-negative integer, got ${position}`);
      if (position + seq > o.maxPositions) fail(`positions ${position}…${position + seq - 1} exceed maxPositions ${o.maxPositions}`);
      const path = a.path ?? (seq === 1 ? 'decode-split' : 'prefill');
      if (path !== 'prefill' && path !== 'projected' && seq !== 1) fail(`the ${path} path takes one row, got seq ${seq}`);
      if (a.x.dtype !== 'f32') fail(`x must be f32, got ${a.x.dtype}`);
      const xCols = path === 'projected' ? tasks * hd : hidden;
      if (a.x.numel < seq * xCols)
        fail(`x [${a.x.shape}] holds fewer than seq × ${path === 'projected' ? '(nh + 2·nkv)·hd' : 'hidden'} = ${seq * xCols} elements`);
      expectShape('wq', a.wq, [nh * hd, hidden]);
      expectShape('wk', a.wk, [nkv * hd, hidden]);
      expectShape('wv', a.wv, [nkv * hd, hidden]);
      expectShape('qNorm', a.qNorm, [hd]);
      expectShape('kNorm', a.kNorm, [hd]);
      const wDtype = floatDtype('wq', a.wq);
      if (a.wk.dtype !== wDtype || a.wv.dtype !== wDtype) fail(`wq, wk, wv must share a dtype, got ${a.wq.dtype}, ${a.wk.dtype}, ${a.wv.dtype}`);
      const nDtype = floatDtype('qNorm', a.qNorm);
      if (a.kNorm.dtype !== nDtype) fail(`qNorm and kNorm must share a dtype, got ${a.qNorm.dtype}, ${a.kNorm.dtype}`);
      for (const [name, t] of [
        ['q', a.q],
        ['k', a.k],
        ['v', a.v],
      ] as const)
        if (t.dtype !== 'f32') fail(`${name} must be f32, got ${t.dtype}`);
      if (a.q.numel < seq * nh * hd) fail(`q [${a.q.shape}] holds fewer than seq × nh × hd = ${seq * nh * hd} elements`);
      const cache = (a.kvLayout ?? 'rows') === 'cache';
      let capacity = 0;
      if (cache) {
        for (const [name, t] of [
          ['k', a.k],
          ['v', a.v],
        ] as const) {
          if (t.shape.length !== 3 || t.shape[0] !== nkv || t.shape[2] !== hd)
            fail(`${name} cache must be [${nkv}, capacity, ${hd}], got [${t.shape.join(', ')}]`);
        }
        capacity = a.k.shape[1]!;
        if (a.v.shape[1] !== capacity) fail(`k and v caches differ in capacity (${capacity} vs ${a.v.shape[1]})`);
        if (position + seq > capacity) fail(`positions ${position}…${position + seq - 1} overflow the KV cache capacity ${capacity}`);
      } else {
        for (const [name, t] of [
          ['k', a.k],
          ['v', a.v],
        ] as const) {
          if (t.numel < seq * nkv * hd) fail(`${name} [${t.shape}] holds fewer than seq × nkv × hd = ${seq * nkv * hd} elements`);
        }
      }
      if (shared[path] > ctx.limits.maxComputeWorkgroupStorageSize) {
        fail(`headDim ${hd} needs ${shared[path]} B of workgroup memory on the ${path} path; this adapter allows ${ctx.limits.maxComputeWorkgroupStorageSize}`);
      }
      const common = { W_DTYPE: wgslDtypeCode(wDtype), N_DTYPE: wgslDtypeCode(nDtype), NH: nh, NKV: nkv, HD: hd, KV_CACHE: cache ? 1 : 0 };
      const bound = { x: a.x, wq: a.wq, wk: a.wk, wv: a.wv, q_norm: a.qNorm, k_norm: a.kNorm, rope: table, q_out: a.q, k_out: a.k, v_out: a.v };
      const wScale = a.wScale ?? 1;
      if (!(Number.isFinite(wScale) && wScale > 0)) fail(`wScale must be a positive finite number, got ${a.wScale}`);
      const params = { seq, hidden, pos0: position, kv_capacity: capacity, eps: o.eps, w_scale: wScale };
      if (a.wFragments && (path === 'decode' || path === 'prefill'))
        fail(`the ${path} path reads weights row by row; wFragments weights take decode-split, decode-projection or projected`);
      if (a.wFragments && wDtype !== 'f16') fail(`wFragments weights are f16, got ${wDtype}`);
      // Weights once, x once, q/k/v written (the norm + RoPE pass re-reads and rewrites q and k).
      const weightBytes = tasks * hd * hidden * dtypeBytes(wDtype);
      const ioBytes = seq * (hidden + tasks * hd) * 4;
      const patches: UniformPatch<'pos0'>[] = [];
      if (path === 'decode') {
        patches.push(
          kernels.decode
            .compile(ctx, { ...common, WG: decodeWg, TM: 1 })
            .encode(target, bound, params, tasks, { tag: 'qkv_rope', bytes: weightBytes + ioBytes }),
        );
      } else if (path === 'decode-split' || path === 'decode-projection') {
        const meta = { tag: 'qkv gemv', bytes: weightBytes + ioBytes };
        // Rows of whole 16-byte words: the vec4 GEMV (qkv-gemv4.wgsl), one lane a row on CPU adapters (each lane's
        // load is a gather there, and a 16-byte one per 8 weights costs less than a 4-byte one per 2); else u32 words.
        const rowBytes = hidden * dtypeBytes(wDtype);
        const aligned = rowBytes % 16 === 0 && [a.x, a.wq, a.wk, a.wv].every((t) => t.byteOffset % 16 === 0);
        if (a.wFragments && !aligned) fail('wFragments needs rows of whole 16-byte words, each weight starting on one');
        if (aligned) {
          const lanes = ctx.kernelLayout === 'cpu' ? 1 : gemvLanes(rowBytes / 16, tasks * hd);
          const reduce = laneReduceVariant(ctx, lanes);
          const { W_DTYPE, NH, NKV, HD, KV_CACHE } = common;
          const k4 = kernels.gemv4[reduce.variant].compile(ctx, {
            W_DTYPE,
            NH,
            NKV,
            HD,
            KV_CACHE,
            LANES: lanes,
            FRAGMENTS: a.wFragments ? 1 : 0,
            ...reduce.constants,
          });
          patches.push(k4.encode(target, bound, params, Math.ceil((tasks * hd) / (WG / lanes)), meta));
        } else {
          const lanes = ctx.kernelLayout === 'cpu' ? 1 : 32;
          patches.push(
            kernels.gemv.compile(ctx, { ...common, WG, TM: 1, LANES: lanes }).encode(target, bound, params, Math.ceil((tasks * hd) / (WG / lanes)), meta),
          );
        }
        if (path === 'decode-split') {
          patches.push(
            kernels.normRope
              .compile(ctx, { ...common, WG: NORM_ROPE_WG, TM: 1 })
              .encode(target, bound, params, nh + nkv, { tag: 'qk_norm rope', bytes: 2 * (nh + nkv) * hd * 4 }),
          );
        }
      } else if (path === 'projected') {
        const reduce = laneReduceVariant(ctx, PROJECTED_LANES);
        patches.push(
          kernels.projected[reduce.variant]
            .compile(ctx, { ...common, WG, LANES: PROJECTED_LANES, ...reduce.constants })
            .encode(target, bound, params, [tasks, Math.ceil(seq / (WG / PROJECTED_LANES)), 1], { tag: 'qk_norm rope', bytes: 2 * ioBytes }),
        );
      } else {
        patches.push(
          kernels.prefill
            .compile(ctx, { ...common, WG, TM: tm, KT: kt, HEAD_OUT_SIZE: headOut.prefill })
            .encode(target, bound, params, tasks * Math.ceil(seq / tm), { tag: 'qkv_rope prefill', bytes: weightBytes + ioBytes }),
        );
      }
      return (p: number) => {
        if (!Number.isSafeInteger(p) || p < 0 || p + seq > o.maxPositions || (cache && p + seq > capacity))
          fail(`position ${p} (+ ${seq} rows) is outside the RoPE table or the KV cache`);
        for (const patch of patches) patch.set('pos0', p);
      };
    },
  };
}
