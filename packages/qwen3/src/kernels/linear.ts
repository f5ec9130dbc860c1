import {
  createGemm,
  storeAsF16,
  storedF16Scale,
  type Gemm,
  type GemmArgs,
  type SplitSums,
  type SubgroupMatrixVariant,
  type XSplit,
} from '@qwen3-webgpu/matmul';
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
  type RowPart,
  type Tensor,
} from '@qwen3-webgpu/tensor';
import gemvCommon from './gemv-common.wgsl';
import gemvSource from './gemv.wgsl';
import gemvSerialSource from './gemv-serial.wgsl';
import common from './linear-common.wgsl';
import serialSource from './linear-serial.wgsl';
import source from './linear.wgsl';

const bindings = { x: 'read', w: 'read', w2: 'read', y: 'read_write' } as const;
const uniforms = defineUniforms({ rows: 'u32', n: 'u32', k: 'u32', y_stride: 'u32', col0: 'u32' });
/** GPUs: 32 lanes share each output column. CPU adapters: one invocation per column (see linear-serial.wgsl). */
const tiled = {
  gpu: { kernel: defineKernel({ label: 'linear', code: `${dtypeWgsl}\n${common}\n${source}`, bindings, uniforms }), cols: 8 },
  cpu: { kernel: defineKernel({ label: 'linear serial', code: `${dtypeWgsl}\n${common}\n${serialSource}`, bindings, uniforms }), cols: 64 },
};
const gemvUniforms = defineUniforms({ n: 'u32', words: 'u32', col0: 'u32', w_scale: 'f32', w2_scale: 'f32' });
const gemvSerial = defineKernel({ label: 'gemv serial', code: `${dtypeWgsl}\n${gemvCommon}\n${gemvSerialSource}`, bindings, uniforms: gemvUniforms });
const gemv = {
  workgroup: defineKernel({ label: 'gemv', code: `${laneReduceWgsl.workgroup}\n${dtypeWgsl}\n${gemvCommon}\n${gemvSource}`, bindings, uniforms: gemvUniforms }),
  subgroup: defineKernel({ label: 'gemv', code: `${laneReduceWgsl.subgroup}\n${dtypeWgsl}\n${gemvCommon}\n${gemvSource}`, bindings, uniforms: gemvUniforms }),
};

export interface LinearOptions {
  /** Output columns n and reduction length k of W: [n, k]. */
  n: number;
  k: number;
  /** Weight dtype (bf16/f16/f32). */
  dtype: Tensor['dtype'];
  /** Add into y (the residual stream) instead of overwriting. */
  accumulate?: boolean;
  /** y = silu(x·Wgᵀ) ⊙ x·Wuᵀ with W = gate, W2 = up (Qwen3's MLP input, both projections in one pass over x). */
  swiglu?: boolean;
  /** Profile label, e.g. 'o_proj'. */
  tag?: string;
  /** Force the tiled kernel for one row too (tests of both paths). */
  noGemv?: boolean;
  /**
   * Several rows on GPUs (gpu kernel layout) go through @qwen3-webgpu/matmul's GEMM: 'auto' (default) takes tensor
   * cores where the device offers them (f32 fidelity: split activations, f16-exact weights only) and its tiled FMA
   * kernel elsewhere; 'fma' forces the FMA kernel; 'tiled' keeps this package's own kernel (linear.wgsl).
   */
  gemm?: 'auto' | 'fma' | 'tiled';
  /**
   * The tensor-core kernel of that GEMM (matmul's subgroupMatrixTile.variant): 'auto' (default) takes 'f16w' where W
   * as f16 fits matmul's cap (64 MiB: every Qwen3-0.6B projection, not its lm_head) and 'presplit' elsewhere; the
   * others force one (comparison runs).
   */
  tcVariant?: 'auto' | 'presplit' | 'f16w';
}

export interface LinearArgs {
  /** x: [rows, k] f32. */
  x: Tensor;
  /** W: [n, k], whole or as row parts (splitRows) when it exceeds one binding. */
  w: Tensor | RowPart[];
  /** W2: [n, k] (swiglu's up projection). */
  w2?: Tensor;
  /** y: [rows, n] f32 (row stride = n). */
  y: Tensor;
  rows: number;
  /** x already split for the tensor-core GEMM (several rows; see splitXWords): its row-scale pass is skipped. */
  xSplit?: XSplit;
}

export interface Linear {
  readonly options: Readonly<LinearOptions>;
  /** The GEMM that several rows take into a pass ('tiled' when this package's own kernel does). */
  readonly gemmPath: 'subgroup-matrix' | 'fma' | 'tiled';
  /** Its tensor-core kernel ('f16w', 'presplit'), when gemmPath is 'subgroup-matrix'. */
  readonly tcVariant: SubgroupMatrixVariant | undefined;
  /** u32 words of LinearArgs.xSplit.xs for `rows` rows (> 1), or 0 where several rows never read a pre-split x. */
  splitXWords(rows: number): number;
  /**
   * Checks W (and W2) once for the tensor-core path (matmul's prepare: a GPU reduction per tensor); call it after the
   * weights are uploaded and before encoding several rows. Resolves at once where that path is not taken.
   */
  prepare(w: Tensor | RowPart[], w2?: Tensor): Promise<void>;
  /**
   * Where several rows run the tensor-core f16w kernel and one row a GEMV, re-encodes W (and W2) in place as that
   * kernel's f16 fragments of W · 2^s (matmul's storeAsF16): prefill then loads them with no conversion pass per call,
   * the GEMV reads the fragments and divides 2^s out. Resolves to the views to pass from now on (the old ones must not
   * be used again), or undefined where nothing changed: another path, W in several parts, or a weight not exact in f16
   * (W2 too: both or neither).
   */
  storeAsF16(w: Tensor, w2?: Tensor): Promise<{ w: Tensor; w2?: Tensor } | undefined>;
  /** Records y (+)= x · Wᵀ (several dispatches when W comes in parts). */
  encode(target: DispatchTarget, a: LinearArgs): void;
  /**
   * As encode, for a handle that accumulates into y: where several rows take matmul's GEMM with k split and W in one
   * part, the split's sums are left for the next RMSNorm to add into y (returned; RmsNormArgs.addSums) instead of a
   * pass of their own. Undefined where y was written here.
   */
  encodeDeferringSum(target: DispatchTarget, a: LinearArgs): SplitSums | undefined;
}

/**
 * nn.Linear without bias, bound to its shape: y (+)= x · Wᵀ, or the SwiGLU pair. One row (decode) takes the GEMV that
 * streams W in 16-byte words at memory speed on GPUs. Several rows take matmul's GEMM on GPUs (tensor cores or
 * register-tiled FMA) and this package's tiled kernel on CPU adapters.
 */
export function createLinear(ctx: GpuContext, o: LinearOptions): Linear {
  const { n, k } = o;
  if (o.dtype !== 'bf16' && o.dtype !== 'f16' && o.dtype !== 'f32') throw new TypeError(`linear: weights must be bf16, f16 or f32, got ${o.dtype}`);
  const wCode = wgslDtypeCode(o.dtype);
  const flags = { W_DTYPE: wCode, ACCUMULATE: o.accumulate ? 1 : 0, SWIGLU: o.swiglu ? 1 : 0 };
  const { kernel, cols } = tiled[ctx.kernelLayout];
  const tiledKernel = kernel.compile(ctx, flags);
  // The GEMV reads whole 16-byte words of W and x: k · bytes and every part's offset must be multiples of 16.
  const rowBytes = k * dtypeBytes(o.dtype);
  const wordsPerRow = rowBytes / 16;
  const lanes = gemvLanes(wordsPerRow, n);
  const reduce = laneReduceVariant(ctx, lanes);
  // The decode GEMVs: for o.dtype, and for weights storeAsF16 re-encoded (f16 fragments; same bytes a row).
  const gemvOk = !o.noGemv && rowBytes % 16 === 0 && k % 4 === 0;
  const gemvFor = (stored: boolean) => {
    const f = stored ? { ...flags, W_DTYPE: wgslDtypeCode('f16'), FRAGMENTS: 1 } : flags;
    if (ctx.kernelLayout === 'gpu')
      return { kernel: gemv[reduce.variant].compile(ctx, { ...f, ...reduce.constants, LANES: lanes, ROWS: 256 / lanes }), rows: 256 / lanes };
    return { kernel: gemvSerial.compile(ctx, f), rows: 64 };
  };
  const gemvs = new Map(gemvOk ? [[false, gemvFor(false)]] : []);
  const tag = o.tag ?? (o.swiglu ? 'gate_up' : 'linear');
  const gemmChoice = o.gemm ?? 'auto';
  const gemm: Gemm | undefined =
    ctx.kernelLayout === 'gpu' && gemmChoice !== 'tiled'
      ? createGemm(ctx, {
          n,
          k,
          wDtype: o.dtype,
          path: gemmChoice,
          accumulate: o.accumulate ?? false,
          swiglu: o.swiglu ?? false,
          subgroupMatrixTile: { variant: o.tcVariant ?? 'auto' },
        })
      : undefined;
  return {
    options: o,
    gemmPath: gemm?.path ?? 'tiled',
    tcVariant: gemm?.subgroupMatrixTile?.variant,
    splitXWords: (rows) => (gemm && rows > 1 ? gemm.splitXWords(rows) : 0),
    async prepare(w, w2) {
      await gemm?.prepare(w, w2);
    },
    async storeAsF16(w, w2) {
      if (!gemm || gemm.subgroupMatrixTile?.variant !== 'f16w' || !gemvOk || o.dtype === 'f32' || (o.swiglu ?? false) !== (w2 !== undefined)) return undefined;
      const ranges = await gemm.prepare(w, w2);
      if (!ranges.every((r) => r.exact)) return undefined;
      const stored = await storeAsF16(ctx, w2 ? [w, w2] : [w]);
      if (!stored.every((s) => s)) return undefined;
      return { w: stored[0]!.tensor, ...(w2 ? { w2: stored[1]!.tensor } : {}) };
    },
    encodeDeferringSum(target, a) {
      const whole = !Array.isArray(a.w) || a.w.length === 1;
      if (gemm && a.rows > 1 && whole && o.accumulate && !o.swiglu) {
        check(a);
        return gemm.encodeDeferringSum(target, gemmArgs(a));
      }
      this.encode(target, a);
      return undefined;
    },
    encode(target, a) {
      const parts = check(a);
      const rows = a.rows;
      const bytes = (count: number) => count * rowBytes * (o.swiglu ? 2 : 1) + rows * (k + count * (o.accumulate ? 2 : 1)) * 4;
      const useGemv = gemvOk && rows === 1 && a.x.byteOffset % 16 === 0 && parts.every((p) => p.tensor.byteOffset % 16 === 0);
      if (gemm && rows > 1) {
        gemm.encode(target, gemmArgs(a));
        return;
      }
      for (const p of parts) {
        const bound = { x: a.x, w: p.tensor, w2: a.w2 ?? p.tensor, y: a.y };
        const meta = { tag, bytes: bytes(p.rowCount) };
        const { stored, scale } = scaleOf(p.tensor);
        const scales = { w_scale: scale, w2_scale: scaleOf(a.w2 ?? p.tensor).scale };
        if (useGemv) {
          let g = gemvs.get(stored);
          if (!g) gemvs.set(stored, (g = gemvFor(stored)));
          g.kernel.encode(target, bound, { n: p.rowCount, words: wordsPerRow, col0: p.rowStart, ...scales }, Math.ceil(p.rowCount / g.rows), meta);
        } else if (stored) {
          throw new TypeError(`linear ${tag}: weights stored as f16 · 2^s are read by the GEMV (one row, 16-byte aligned) and the GEMM only`);
        } else {
          tiledKernel.encode(target, bound, { rows, n: p.rowCount, k, y_stride: n, col0: p.rowStart }, Math.ceil(p.rowCount / cols), meta);
        }
      }
    },
  };

  // What both encodes check of a call; returns W's parts.
  function check(a: LinearArgs): RowPart[] {
    const parts = Array.isArray(a.w) ? a.w : [{ rowStart: 0, rowCount: a.w.shape[0]!, tensor: a.w }];
    const rows = a.rows;
    const total = parts.reduce((s, p) => s + p.rowCount, 0);
    for (const p of parts) {
      if ((p.tensor.dtype !== o.dtype && !scaleOf(p.tensor).stored) || p.tensor.shape[1] !== k)
        throw new TypeError(`linear: W must be [n, ${k}] ${o.dtype}, got [${p.tensor.shape}] ${p.tensor.dtype}`);
    }
    if (total !== n) throw new RangeError(`linear: W has ${total} rows, expected n = ${n}`);
    if (o.swiglu && (!a.w2 || Array.isArray(a.w) || a.w2.dtype !== parts[0]!.tensor.dtype || a.w2.shape[0] !== n))
      throw new TypeError('swiglu: gate and up weights must be whole [n, k] tensors of one dtype');
    if (a.x.dtype !== 'f32' || a.y.dtype !== 'f32') throw new TypeError('linear: x and y must be f32');
    if (a.x.numel < rows * k) throw new RangeError(`linear: x [${a.x.shape}] is smaller than [${rows}, ${k}]`);
    if (a.y.numel < rows * n) throw new RangeError(`linear: y [${a.y.shape}] is smaller than [${rows}, ${n}]`);
    return parts;
  }

  function gemmArgs(a: LinearArgs): GemmArgs {
    return { x: a.x, w: a.w, ...(o.swiglu ? { w2: a.w2! } : {}), y: a.y, rows: a.rows, tag, ...(a.xSplit ? { xSplit: a.xSplit } : {}) };
  }
}

/** Weights storeAsF16 re-encoded: f16 views, 2^s divided out (storedF16Scale refuses other views of them). */
function scaleOf(t: Tensor): { stored: boolean; scale: number } {
  const s = storedF16Scale(t);
  return { stored: s !== undefined, scale: s === undefined ? 1 : 2 ** -s };
}
