import {
  defineKernel,
  defineUniforms,
  dtypeBytes,
  dtypeWgsl,
  wgslDtypeCode,
  xSplitWgsl,
  type DispatchMeta,
  type DispatchTarget,
  type GpuContext,
  type RowPart,
  type Tensor,
  type SplitSums,
  type XSplit,
} from '@qwen3-webgpu/tensor';
import common from './gemm-common.wgsl';
import sgF16wSource from './gemm-subgroup-matrix-f16w.wgsl';
import sgPresplitSource from './gemm-subgroup-matrix-presplit.wgsl';
import sgInlineSource from './gemm-subgroup-matrix.wgsl';
import fmaSource from './gemm.wgsl';
import rowScaleSource from './row-scale.wgsl';
import sgEmulated from './subgroup-matrix-emulated.wgsl';
import unscaleSource from './gemm-unscale.wgsl';
import splitKReduceSource from './split-k-reduce.wgsl';
import sgEpilogue from './subgroup-matrix-epilogue.wgsl';
import sgNative from './subgroup-matrix.wgsl';
import sgSplitK from './subgroup-matrix-split-k.wgsl';
import wF16Source from './w-f16.wgsl';
import { acquireScratch, type SharedScratch } from './scratch.ts';
import { checkWeightRanges, knownWeightRange, storedF16Scale, type WeightRange } from './weight-range.ts';

export type GemmDtype = 'bf16' | 'f16' | 'f32';
export type GemmPath = 'subgroup-matrix' | 'fma';

/** FMA kernel tile: a workgroup computes bm × bn outputs, an invocation tm × tn of them (multiples of 4); k advances
 * bk at a time. */
export interface FmaTile {
  bm: number;
  bn: number;
  bk: number;
  tm: number;
  tn: number;
  /**
   * Workgroups per output tile, each summing a slice of k (their sums go through a scratch buffer and one more small
   * pass adds them). 0 (default): by the call's shape — outputs of fewer than 256 tiles are split up to 8 ways
   * towards 512 workgroups, keeping at least 8 k steps per slice. 1: never.
   */
  splitK: number;
}

/**
 * Which tensor-core kernel: 'presplit' (gemm-subgroup-matrix-presplit.wgsl) splits x into f16 hi/lo fragments once
 * per call and loads them straight from storage, W goes through double-buffered workgroup memory with one barrier
 * per k step; 'inline' (gemm-subgroup-matrix.wgsl, the first kernel) splits x in every column tile; 'f16w'
 * (gemm-subgroup-matrix-f16w.wgsl) also converts W to f16 fragments once per call (a pass over W into a scratch
 * buffer that every handle of the context shares), so its main loop has no workgroup memory and no barriers.
 */
export type SubgroupMatrixVariant = 'presplit' | 'inline' | 'f16w';

/** Subgroup-matrix kernel tile: sgM × sgN subgroups per workgroup, each tm × tn 16 × 16 accumulators. */
export interface SubgroupMatrixTile {
  variant: SubgroupMatrixVariant;
  sgM: number;
  sgN: number;
  tm: number;
  tn: number;
  /** k step: 16, 32 or 64 ('presplit'; 'inline' always steps 32; 'f16w' ignores it). */
  bk: number;
  /** 'presplit': load the left fragments one k step ahead into registers (else right before their MMAs). */
  prefetchA: boolean;
  /**
   * 'presplit' and 'f16w': split k over this many workgroups per output tile (more workgroups where the output has
   * few tiles, e.g. [512, 1024]); their raw sums go through a scratch buffer and one more small pass
   * (split-k-reduce.wgsl) adds them. 1: no split. 0 ('f16w' only, its default): by the call's shape, as FmaTile.splitK
   * (subgroupMatrixSplitK).
   */
  splitK: number;
}

/**
 * A requested tile: any field left out takes the chosen variant's default. variant 'auto' (the default): 'f16w' when
 * W (and W2) as f16 fragments fit in GemmOptions.f16wMaxBytes, else 'presplit'.
 */
export type SubgroupMatrixTileOptions = Partial<Omit<SubgroupMatrixTile, 'variant'>> & { variant?: 'auto' | SubgroupMatrixVariant };

export interface GemmOptions {
  /** Output columns (rows of W; the sum of the parts' rows when W comes in parts). */
  n: number;
  /** Reduction length (columns of x and W). */
  k: number;
  wDtype: GemmDtype;
  /**
   * 'auto' (default): tensor cores where the device offers 16×16×16 f16 → f32 subgroup matrices (feature
   * 'chromium-experimental-subgroup-matrix' + 'shader-f16'), else the f32 FMA kernel. 'subgroup-matrix' throws where
   * it is not offered. Either way a weight tensor that is not exact in f16 (see prepare) goes through the FMA kernel.
   */
  path?: 'auto' | GemmPath;
  /** y += x·Wᵀ (residual stream) instead of y = x·Wᵀ. */
  accumulate?: boolean;
  /** y = silu(x·Wᵀ) ⊙ x·W2ᵀ (Qwen3's MLP gate and up in one pass over x). */
  swiglu?: boolean;
  /** Tile overrides (benchmarks); defaults depend on the path and on n. */
  fmaTile?: Partial<FmaTile>;
  subgroupMatrixTile?: SubgroupMatrixTileOptions;
  /**
   * variant 'auto': the most bytes W (and W2) may take as f16 fragments for 'f16w' to be chosen (default 64 MiB). The
   * f16w scratch is shared by every handle of a context and as large as the largest such W, so this caps it: Qwen3-0.6B's
   * gate + up (2 × 6 MiB) pass, its lm_head (151936 × 1024: 297 MiB) takes 'presplit'.
   */
  f16wMaxBytes?: number;
  /**
   * Tests only: run the subgroup-matrix kernel with plain-WGSL stand-ins for the matrix builtins
   * (subgroup-matrix-emulated.wgsl; needs shader-f16), so its tiling, scaling and edges can be checked on adapters
   * without tensor cores. Very slow.
   */
  emulateSubgroupMatrix?: boolean;
}

export interface GemmArgs {
  /** x: [rows, k] f32. */
  x: Tensor;
  /** W: [n, k] wDtype, whole or as row parts (splitRows) when it exceeds one binding (lm_head). */
  w: Tensor | RowPart[];
  /** W2: [n, k] wDtype, the up projection (swiglu only; whole). */
  w2?: Tensor;
  /** y: [rows, n] f32 (row stride n). */
  y: Tensor;
  rows: number;
  /** Profile label of the dispatches (DispatchList.describe); default 'gemm'. */
  tag?: string;
  /**
   * x already scaled and split by the caller's own kernel (x-split.wgsl, @qwen3-webgpu/tensor's xSplitWgsl; rows
   * < `rows` written): the tensor-core kernels read it and the row-scale pass is skipped. xs: at least splitXWords(rows)
   * words (u32), rowExp: at least `rows` i32 (a u32 tensor holds them). Paths that read x itself (FMA, the inline
   * kernel, weights not exact in f16) ignore it, so x must hold the same values.
   */
  xSplit?: XSplit;
}

export interface Gemm {
  readonly n: number;
  readonly k: number;
  readonly wDtype: GemmDtype;
  /** The path this handle prefers; a weight that is not exact in f16 still goes through 'fma'. */
  readonly path: GemmPath;
  /** Why the subgroup-matrix path is not this handle's path (empty when it is). */
  readonly pathReason: string;
  /** The tensor-core kernel and tile this handle runs (undefined on the FMA path). */
  readonly subgroupMatrixTile: Readonly<SubgroupMatrixTile> | undefined;
  /**
   * Checks each weight tensor's range once (a GPU reduction) so that encode can send it to the tensor cores; call it
   * after uploading W (and W2). Results are cached per tensor for every handle. Needed only on the subgroup-matrix
   * path; resolves at once on the FMA path.
   */
  prepare(w: Tensor | RowPart[], w2?: Tensor): Promise<WeightRange[]>;
  /**
   * u32 words of GemmArgs.xSplit.xs for `rows` rows (rows padded to the tile), or 0 where this handle never reads a
   * pre-split x (the FMA path, the inline kernel).
   */
  splitXWords(rows: number): number;
  /** Records y (+)= x·Wᵀ into a pass or a DispatchList and says which kernel runs for each part of W. */
  encode(target: DispatchTarget, args: GemmArgs): GemmPath[];
  /**
   * As encode, for a handle that accumulates (y += x·Wᵀ, the residual stream) with W in one part: where the GEMM
   * splits k, its sums are left for the caller to add into y (@qwen3-webgpu/rmsnorm-f32's RmsNormArgs.addSums), one
   * pass fewer; returned, valid until any later GEMM of this context runs (they share its scratch: sums, row exponents).
   * Undefined where y was written
   * here (no k split). y must not be read before the sums are added.
   */
  encodeDeferringSum(target: DispatchTarget, args: GemmArgs): SplitSums | undefined;
  /**
   * Releases the handle: the tensor-core scratch (shared by the context's handles) is freed with the last one. Encode
   * after destroy throws.
   */
  destroy(): void;
}

const gemmUniforms = defineUniforms({ rows: 'u32', n: 'u32', k: 'u32', y_stride: 'u32', col0: 'u32', w_scale: 'f32', w2_scale: 'f32' });
const rowScaleKernel = defineKernel({
  label: 'gemm row scale',
  code: `${xSplitWgsl}\n${rowScaleSource}`,
  bindings: { x: 'read', row_exp: 'read_write', xs: 'read_write' },
  uniforms: defineUniforms({ rows: 'u32', k: 'u32' }),
});

const splitKReduceKernel = defineKernel({
  label: 'gemm split-k reduce',
  code: `${dtypeWgsl}\n${common}\n${unscaleSource}\n${splitKReduceSource}`,
  bindings: { w: 'read', w2: 'read', y: 'read_write', row_exp: 'read', part: 'read' },
  uniforms: gemmUniforms,
});

/** W to f16 fragments (w-f16.wgsl): per call for f16w, and once for good by storeAsF16. */
export const wF16Kernel = defineKernel({
  label: 'gemm W to f16 fragments',
  code: `${dtypeWgsl}\n${common}\n${wF16Source}`,
  bindings: { w: 'read', w2: 'read', wf: 'read_write', y: 'read_write' },
  uniforms: gemmUniforms,
});

const DEFAULT_FMA: FmaTile = { bm: 64, bn: 64, bk: 16, tm: 4, tn: 4, splitK: 0 };

/** splitK 0 (FmaTile, f16w): split k when an output has fewer tiles than this… */
const SPLIT_BELOW = 256;
/** …towards this many workgroups, at most 8 ways, each slice at least 8 k steps. */
const SPLIT_TARGET = 512;
/** The k split by shape of an output of `tiles` tiles with `kSteps` steps of k (what splitK 0 means). */
function splitKByShape(tiles: number, kSteps: number): number {
  if (tiles >= SPLIT_BELOW) return 1;
  return Math.max(1, Math.min(8, Math.ceil(SPLIT_TARGET / tiles), Math.floor(kSteps / 8)));
}
function fmaSplitK(ft: FmaTile, rows: number, n: number, k: number): number {
  if (ft.splitK > 0) return ft.splitK;
  return splitKByShape(Math.ceil(rows / ft.bm) * Math.ceil(n / ft.bn), Math.ceil(k / ft.bk));
}
/**
 * The k split a tensor-core tile runs with for [rows, k]·[n, k]ᵀ (n: the rows of one part of W): its splitK, or for
 * f16w's 0 the split by shape (k steps of 16). Qwen3-0.6B at 512 rows, 64 × 64 tiles: q|k|v (4096) and gate/up
 * (3072) have ≥ 256 tiles, no split; o_proj (k 2048) and down (k 3072) have 128 tiles, split 4 (512 workgroups).
 */
export function subgroupMatrixSplitK(tile: SubgroupMatrixTile, rows: number, n: number, k: number): number {
  if (tile.splitK > 0) return tile.splitK;
  const tiles = Math.ceil(rows / (tile.sgM * tile.tm * 16)) * Math.ceil(n / (tile.sgN * tile.tn * 16));
  return splitKByShape(tiles, Math.ceil(k / 16));
}
/**
 * presplit: 32 × 32 tiles of 2 × 2 subgroups (one accumulator each), left fragments prefetched: at 512 rows that is
 * 512 workgroups for n = 1024, about four per SM of an H200 (132); larger tiles left SMs idle (README, "variant").
 */
const DEFAULT_SG: SubgroupMatrixTile = { variant: 'presplit', sgM: 2, sgN: 2, tm: 1, tn: 1, bk: 32, prefetchA: true, splitK: 1 };
/**
 * f16w: 64 × 64 tiles of 2 × 2 subgroups, 2 × 2 accumulators each (named variables: main_2x2), k
 * split by shape (subgroupMatrixSplitK). H200, per call at 512 rows (device-check --quick, 2026-11-30; the tile before
 * it in brackets): [512, 1024]·[4096, 1024]ᵀ 66.6 TFLOP/s (40.0 with one accumulator a subgroup), gate/up swiglu
 * [512, 1024]·[3072, 1024]ᵀ 78.4 (55.0), down [512, 3072]·[1024, 3072]ᵀ split 4 55.3 (35.9; unsplit this tile 28.1),
 * o_proj [512, 2048]·[1024, 2048]ᵀ split 4 48.7 (unsplit 25.8). Splitting outputs of 256 tiles or more measured slower
 * (e.g. swiglu split 2: 65.9), hence only below that.
 */
const DEFAULT_F16W: SubgroupMatrixTile = { variant: 'f16w', sgM: 2, sgN: 2, tm: 2, tn: 2, bk: 16, prefetchA: false, splitK: 0 };
/**
 * The f16w default where DEFAULT_F16W does not fit the adapter's workgroup limits (subgroups of more than 64): 16 × 32
 * tiles of 1 × 2 subgroups, one accumulator each (the default before the 2 × 2 kernels).
 */
const F16W_NARROW: SubgroupMatrixTile = { ...DEFAULT_F16W, sgM: 1, sgN: 2, tm: 1, tn: 1 };
/** variant 'auto' takes f16w up to this many bytes of W (and W2) as f16: Qwen3-0.6B's projections, not its lm_head. */
export const DEFAULT_F16W_MAX_BYTES = 64 * 2 ** 20;
/** Columns of the pre-split x are padded to a multiple of this (row-scale.wgsl's kt_count); every bk divides it. */
const XS_K_ALIGN = 64;

/** Bytes of W [n, k] (and W2 with swiglu) as f16 fragments for an f16w tile n-edge of bn: what its scratch holds. */
export function f16wScratchBytes(n: number, k: number, bn: number, swiglu: boolean): number {
  return Math.ceil(n / bn) * bn * Math.ceil(k / XS_K_ALIGN) * XS_K_ALIGN * 2 * (swiglu ? 2 : 1);
}

/**
 * The tensor-core tile of a handle: the requested fields over the chosen variant's defaults. 'auto' takes f16w when
 * its scratch for the whole W (f16wScratchBytes) is at most f16wMaxBytes and within one binding, else presplit.
 */
export function resolveSubgroupMatrixTile(
  requested: SubgroupMatrixTileOptions,
  shape: { n: number; k: number; swiglu: boolean },
  f16wMaxBytes: number,
  maxBindingBytes: number,
): SubgroupMatrixTile {
  const { variant = 'auto', ...fields } = requested;
  if (variant === 'inline') {
    const tn = !shape.swiglu && shape.n >= 4096 ? 4 : 2;
    return { variant, sgM: 2, sgN: 2, tm: 2, tn, bk: 32, prefetchA: false, splitK: 1, ...fields };
  }
  if (variant === 'f16w') return { ...DEFAULT_F16W, ...fields };
  if (variant === 'presplit') return { ...DEFAULT_SG, ...fields };
  if (variant !== 'auto') throw new TypeError(`gemm: subgroupMatrixTile.variant must be 'auto', 'presplit', 'inline' or 'f16w', got ${String(variant)}`);
  const f16w = { ...DEFAULT_F16W, ...fields };
  const bn = f16w.sgN * f16w.tn * 16;
  const fits = f16wScratchBytes(shape.n, shape.k, bn, shape.swiglu) <= Math.min(f16wMaxBytes, maxBindingBytes * (shape.swiglu ? 2 : 1));
  return fits ? f16w : { ...DEFAULT_SG, ...fields };
}

function checkFmaTile(ft: FmaTile, limits: GPUSupportedLimits): void {
  for (const key of ['bm', 'bn', 'bk', 'tm', 'tn'] as const) positiveInt(`fmaTile.${key}`, ft[key]);
  if (!Number.isSafeInteger(ft.splitK) || ft.splitK < 0 || ft.splitK > 64)
    throw new RangeError(`gemm: fmaTile.splitK must be an integer in 0 … 64, got ${ft.splitK}`);
  if (ft.bm % ft.tm || ft.bn % ft.tn || ft.bk % 2 || ft.tm % 4 || ft.tn % 4) {
    throw new RangeError(`gemm: fmaTile ${JSON.stringify(ft)} needs tm | bm, tn | bn, tm and tn multiples of 4 and an even bk`);
  }
  const threads = (ft.bm / ft.tm) * (ft.bn / ft.tn);
  const shared = (ft.bk * (ft.bm + 4) + 2 * ft.bk * (ft.bn + 4)) * 4;
  if (threads > limits.maxComputeInvocationsPerWorkgroup || shared > limits.maxComputeWorkgroupStorageSize) {
    throw new RangeError(
      `gemm: fmaTile ${JSON.stringify(ft)} needs ${threads} invocations and ${shared} B of workgroup memory; this adapter allows ${limits.maxComputeInvocationsPerWorkgroup} and ${limits.maxComputeWorkgroupStorageSize}`,
    );
  }
}

/** One kernel per tile for the whole process, so that every handle of a model shares its pipelines. */
const fmaKernelCache = new Map<string, ReturnType<typeof defineFma>>();
function fmaKernel(ft: FmaTile) {
  const key = `${ft.bm}x${ft.bn}x${ft.bk}/${ft.tm}x${ft.tn}`;
  let kernel = fmaKernelCache.get(key);
  if (!kernel) fmaKernelCache.set(key, (kernel = defineFma(ft)));
  return kernel;
}

function defineFma(ft: FmaTile) {
  const header = `const BM: u32 = ${ft.bm}u;\nconst BN: u32 = ${ft.bn}u;\nconst BK: u32 = ${ft.bk}u;\nconst TM: u32 = ${ft.tm}u;\nconst TN: u32 = ${ft.tn}u;`;
  return defineKernel({
    label: `gemm fma ${ft.bm}x${ft.bn}x${ft.bk}/${ft.tm}x${ft.tn}`,
    code: `${header}\n${dtypeWgsl}\n${common}\n${fmaSource}`,
    bindings: { x: 'read', w: 'read', w2: 'read', y: 'read_write', part: 'read_write' },
    uniforms: gemmUniforms,
  });
}

/** Why the device cannot run the tensor-core kernel, or '' when it can; the subgroup size it runs with. */
export function subgroupMatrixSupport(ctx: GpuContext): { reason: string; subgroupSize: number } {
  const { features, info } = ctx;
  if (!features.subgroupMatrix)
    return { reason: "no 'chromium-experimental-subgroup-matrix' feature (Dawn needs enable-dawn-features=allow_unsafe_apis)", subgroupSize: 0 };
  if (!features.shaderF16) return { reason: "no 'shader-f16' feature (on NVIDIA, Dawn needs vulkan_enable_f16_on_nvidia)", subgroupSize: 0 };
  if (!features.subgroups) return { reason: "no 'subgroups' feature", subgroupSize: 0 };
  const config = info.subgroupMatrixConfigs.find((c) => c.componentType === 'f16' && c.resultComponentType === 'f32' && c.M === 16 && c.N === 16 && c.K === 16);
  if (!config) return { reason: 'no 16×16×16 f16 → f32 subgroup-matrix configuration', subgroupSize: 0 };
  if (info.subgroupMinSize !== info.subgroupMaxSize || info.subgroupMaxSize === 0) {
    return { reason: `subgroup size varies (${info.subgroupMinSize}–${info.subgroupMaxSize}); the kernel indexes subgroups by invocation`, subgroupSize: 0 };
  }
  return { reason: '', subgroupSize: info.subgroupMaxSize };
}

function positiveInt(name: string, v: number): number {
  if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`gemm: ${name} must be a positive integer, got ${v}`);
  return v;
}

export function createGemm(ctx: GpuContext, options: GemmOptions): Gemm {
  const n = positiveInt('n', options.n);
  const k = positiveInt('k', options.k);
  const { wDtype } = options;
  if (wDtype !== 'bf16' && wDtype !== 'f16' && wDtype !== 'f32') throw new TypeError(`gemm: wDtype must be bf16, f16 or f32, got ${String(wDtype)}`);
  const accumulate = options.accumulate ?? false;
  const swiglu = options.swiglu ?? false;
  if (accumulate && swiglu) throw new TypeError('gemm: accumulate and swiglu do not combine');
  const constants = { W_DTYPE: wgslDtypeCode(wDtype), ACCUMULATE: accumulate ? 1 : 0, SWIGLU: swiglu ? 1 : 0 };
  const limits = ctx.limits;

  // The FMA kernel: always compiled, since any weight outside f16's reach falls back to it.
  const ft: FmaTile = { ...DEFAULT_FMA, ...options.fmaTile };
  checkFmaTile(ft, limits);
  const fmaKernelOfTile = fmaKernel(ft);
  // Per k split: the kernel and (split > 1) its reduce.
  const fmaBySplit = new Map<number, { kernel: ReturnType<typeof fmaKernelOfTile.compile>; reduce?: ReturnType<typeof splitKReduceKernel.compile> }>();
  const fmaFor = (split: number) => {
    let f = fmaBySplit.get(split);
    if (!f) {
      const kernel = fmaKernelOfTile.compile(ctx, { ...constants, SPLIT_K: split });
      f = split > 1 ? { kernel, reduce: splitKReduceKernel.compile(ctx, { ...constants, SPLIT_K: split, SCALED: 0 }) } : { kernel };
      fmaBySplit.set(split, f);
    }
    return f;
  };
  fmaFor(1);

  // The tensor-core kernel, where offered (or emulated, in tests).
  const emulate = options.emulateSubgroupMatrix ?? false;
  const support = emulate
    ? { reason: ctx.features.shaderF16 ? '' : "emulating subgroup matrices needs 'shader-f16'", subgroupSize: 32 }
    : subgroupMatrixSupport(ctx);
  const wanted = options.path ?? 'auto';
  if (wanted === 'subgroup-matrix' && support.reason) throw new Error(`gemm: the subgroup-matrix path is not available here: ${support.reason}`);
  const path: GemmPath = wanted === 'fma' || support.reason ? 'fma' : 'subgroup-matrix';
  const pathReason = wanted === 'fma' ? 'fma requested' : support.reason;
  let sg: { tile: SubgroupMatrixTile; bm: number; bn: number; forSplit: (split: number) => SgRun } | undefined;
  let rowScale: ReturnType<typeof rowScaleKernel.compile> | undefined;
  let toF16: ReturnType<typeof wF16Kernel.compile>[] | undefined;
  if (path === 'subgroup-matrix') {
    const f16wMaxBytes = options.f16wMaxBytes ?? DEFAULT_F16W_MAX_BYTES;
    if (!(f16wMaxBytes >= 0)) throw new RangeError(`gemm: f16wMaxBytes must be a non-negative number of bytes, got ${f16wMaxBytes}`);
    const requested = options.subgroupMatrixTile ?? {};
    let tile = resolveSubgroupMatrixTile(requested, { n, k, swiglu }, f16wMaxBytes, limits.maxStorageBufferBindingSize);
    for (const key of ['sgM', 'sgN', 'tm', 'tn', 'bk'] as const) positiveInt(`subgroupMatrixTile.${key}`, tile[key]);
    const splitOk = (lo: number) => Number.isSafeInteger(tile.splitK) && tile.splitK >= lo && tile.splitK <= 64;
    if (tile.variant === 'f16w' ? !splitOk(0) : tile.variant === 'presplit' ? !splitOk(1) : tile.splitK !== 1)
      throw new RangeError(
        `gemm: subgroupMatrixTile.splitK must be an integer in 0 … 64 (f16w; 0: by shape), 1 … 64 (presplit) or 1 (inline), got ${tile.splitK}`,
      );
    if (tile.variant === 'inline' ? tile.bk !== 32 : ![16, 32, 64].includes(tile.bk))
      throw new RangeError(`gemm: subgroupMatrixTile.bk must be 16, 32 or 64 (presplit) or 32 (inline), got ${tile.bk}`);
    const needs = (t: SubgroupMatrixTile) => ({ threads: t.sgM * t.sgN * support.subgroupSize, shared: sgSharedBytes(t, swiglu) });
    const fits = (t: SubgroupMatrixTile) =>
      needs(t).threads <= limits.maxComputeInvocationsPerWorkgroup && needs(t).shared <= limits.maxComputeWorkgroupStorageSize;
    // The default f16w geometry gives way to the narrow tile on adapters whose workgroups cannot hold it.
    if (tile.variant === 'f16w' && !(['sgM', 'sgN', 'tm', 'tn'] as const).some((key) => key in requested) && !fits(tile)) {
      tile = { ...tile, sgM: F16W_NARROW.sgM, sgN: F16W_NARROW.sgN, tm: F16W_NARROW.tm, tn: F16W_NARROW.tn };
    }
    if (!fits(tile)) {
      const { threads, shared } = needs(tile);
      throw new RangeError(
        `gemm: subgroupMatrixTile ${JSON.stringify(tile)} needs ${threads} invocations and ${shared} B of workgroup memory; this adapter allows ${limits.maxComputeInvocationsPerWorkgroup} and ${limits.maxComputeWorkgroupStorageSize}`,
      );
    }
    const sgConstants = tile.variant === 'presplit' ? { ...constants, W_VEC: k % (wDtype === 'f32' ? 4 : 8) === 0 ? 1 : 0 } : constants;
    // Per k split (f16w's by shape depends on the rows of a call): the kernel and (split > 1) the reduce, compiled on
    // first use; the tile's own split (1 for 'by shape') at once, so that a module that does not validate fails here.
    const bySplit = new Map<number, SgRun>();
    const resolved = tile;
    const forSplit = (split: number): SgRun => {
      let run = bySplit.get(split);
      if (!run) {
        const kernel = compileSg(ctx, { ...resolved, splitK: split }, support.subgroupSize, swiglu, emulate, sgConstants);
        run = split > 1 ? { kernel, reduce: splitKReduceKernel.compile(ctx, { ...constants, SPLIT_K: split }) } : { kernel };
        bySplit.set(split, run);
      }
      return run;
    };
    forSplit(Math.max(1, tile.splitK));
    sg = { tile, bm: tile.sgM * tile.tm * 16, bn: tile.sgN * tile.tn * 16, forSplit };
    rowScale = rowScaleKernel.compile(ctx, { SPLIT: tile.variant === 'inline' ? 0 : 1 });
    if (tile.variant === 'f16w') {
      // 16-bit weights in whole aligned words of 8 (k % 8 == 0): w-f16.wgsl reads them as they are.
      const VEC8 = wDtype !== 'f32' && k % 8 === 0 ? 1 : 0;
      toF16 = [
        wF16Kernel.compile(ctx, { W_DTYPE: constants.W_DTYPE, SECOND: 0, VEC8 }),
        wF16Kernel.compile(ctx, { W_DTYPE: constants.W_DTYPE, SECOND: 1, VEC8 }),
      ];
    }
  }

  // Scratch (row exponents, the split of x, split-k sums, W and W2 as f16): shared by every handle of the context
  // (scratch.ts), taken at the end once the handle is valid.
  let scratch: SharedScratch | undefined;
  const grow = (purpose: string, elements: number): Tensor => scratch!.get(purpose, elements);
  // W (second: W2) as f16 fragments for the f16w kernel: [ceil(rows / bn) · bn / 16][kt][16][16], one u32 per pair.
  const toFragments = (
    pass: DispatchTarget,
    part: RowPart,
    second: Tensor,
    y: Tensor,
    params: Parameters<typeof gemmUniforms.pack>[0],
    which: 0 | 1,
    tag: string,
  ) => {
    const bn = sg!.bn;
    const words = (Math.ceil(part.rowCount / bn) * bn * Math.ceil(k / XS_K_ALIGN) * XS_K_ALIGN) / 2;
    if (words * 4 > limits.maxStorageBufferBindingSize) {
      throw new RangeError(`gemm: W [${part.rowCount}, ${k}] as f16 fragments exceeds one binding; use the presplit variant`);
    }
    const wf = grow(which ? 'W2 as f16' : 'W as f16', words);
    const filled = (Math.ceil(part.rowCount / 16) * 16 * (Math.ceil(k / XS_K_ALIGN) * XS_K_ALIGN)) / 2;
    // One invocation per 4 words (8 halves).
    toF16![which]!.encode(pass, { w: part.tensor, w2: second, wf, y }, params, Math.ceil(filled / 4 / 256), {
      tag: `${tag} W to f16`,
      bytes: part.rowCount * k * dtypeBytes(wDtype) + filled * 4,
    });
    return wf;
  };
  const rowExp = (rows: number) => grow('row exponents', rows);
  // xs: [ceil(rows / bm) · bm / 16][kt][hi, lo][16][16] f16 = 2 halves (one u32) per element of x, padded.
  const splitXWords = (rows: number) => (sg && sg.tile.variant !== 'inline' ? Math.ceil(rows / sg.bm) * sg.bm * Math.ceil(k / XS_K_ALIGN) * XS_K_ALIGN : 0);
  const splitX = (rows: number) => {
    const words = splitXWords(rows);
    if (words * 4 > limits.maxStorageBufferBindingSize) {
      throw new RangeError(
        `gemm: the split of x [${rows}, ${k}] (${words * 4} B) exceeds one binding (${limits.maxStorageBufferBindingSize} B); encode fewer rows at a time`,
      );
    }
    return grow('split x', words);
  };

  // [split][rows][n][gate, up] f32 raw sums of a k-split GEMM (a placeholder without a split).
  const splitKSums = (split: number, rows: number, count: number) => {
    const sums = grow('split-k sums', split > 1 ? split * rows * count * (swiglu ? 2 : 1) : 1);
    if (sums.bindingSize > limits.maxStorageBufferBindingSize) {
      throw new RangeError(
        `gemm: the split-k sums of [${rows}, ${count}] exceed one binding (${limits.maxStorageBufferBindingSize} B); encode fewer rows at a time`,
      );
    }
    return sums;
  };

  const partsOf = (w: Tensor | RowPart[]): RowPart[] => (Array.isArray(w) ? w : [{ rowStart: 0, rowCount: w.shape[0] ?? 0, tensor: w }]);
  // Weights storeAsF16 re-encoded (f16 · 2^s fragments) are read by the f16w kernel only, whatever the handle's wDtype,
  // with column tiles that never pass their last row.
  const checkWeight = (t: Tensor, name: string) => {
    const stored = storedF16Scale(t);
    if (stored !== undefined && (sg?.tile.variant !== 'f16w' || (t.shape[0] ?? 0) % sg.bn !== 0)) {
      throw new TypeError(
        `gemm: ${name} [${t.shape}] holds f16 · 2^${stored} fragments (storeAsF16), which only the tensor-core f16w kernel with column tiles dividing its rows reads; this handle runs ${sg ? `the ${sg.tile.variant} kernel, ${sg.bn} columns a tile` : `the ${path} path (${pathReason})`}`,
      );
    }
    if (t.dtype !== wDtype && stored === undefined) throw new TypeError(`gemm: ${name} must be ${wDtype} (the handle's wDtype), got ${t.dtype}`);
    if (t.shape.length !== 2 || t.shape[1] !== k) throw new RangeError(`gemm: ${name} must be [rows, ${k}], got [${t.shape}]`);
    if (t.bindingSize > limits.maxStorageBufferBindingSize) {
      throw new RangeError(`gemm: ${name} [${t.shape}] exceeds one binding (${limits.maxStorageBufferBindingSize} B); pass splitRows(${name})`);
    }
  };

  scratch = acquireScratch(ctx);
  let destroyed = false;
  return {
    n,
    k,
    wDtype,
    path,
    pathReason,
    subgroupMatrixTile: sg?.tile,
    splitXWords,
    async prepare(w, w2) {
      if (path !== 'subgroup-matrix') return [];
      return checkWeightRanges(ctx, [...partsOf(w).map((p) => p.tensor), ...(w2 ? [w2] : [])]);
    },
    encode(pass, args) {
      return run(pass, args, false).ran;
    },
    encodeDeferringSum(pass, args) {
      if (!accumulate || swiglu) throw new TypeError('gemm: encodeDeferringSum is for handles that accumulate into y (not swiglu)');
      if (Array.isArray(args.w) && args.w.length !== 1) throw new TypeError(`gemm: encodeDeferringSum takes W in one part, got ${args.w.length}`);
      return run(pass, args, true).sums;
    },
    destroy() {
      if (destroyed) return;
      destroyed = true;
      scratch?.release();
    },
  };

  // encode and encodeDeferringSum: `defer` leaves a k split's sums to the caller.
  function run(pass: DispatchTarget, args: GemmArgs, defer: boolean): { ran: GemmPath[]; sums?: SplitSums } {
    if (destroyed) throw new Error('gemm: handle used after destroy()');
    const { x, y, rows } = args;
    const tag = args.tag ?? 'gemm';
    // Bytes each dispatch must move at least: its rows of W (and W2), x once, y written (read too when accumulating).
    const bytes = (count: number) => count * k * dtypeBytes(wDtype) * (swiglu ? 2 : 1) + rows * (k + count * (accumulate ? 2 : 1)) * 4;
    if (!Number.isSafeInteger(rows) || rows < 0) throw new RangeError(`gemm: rows must be a non-negative integer, got ${rows}`);
    if (x.dtype !== 'f32' || y.dtype !== 'f32') throw new TypeError(`gemm: x and y must be f32, got ${x.dtype} and ${y.dtype}`);
    if (x.numel < rows * k) throw new RangeError(`gemm: x [${x.shape}] is smaller than [${rows}, ${k}]`);
    if (y.numel < rows * n) throw new RangeError(`gemm: y [${y.shape}] is smaller than [${rows}, ${n}]`);
    for (const [t, name] of [
      [x, 'x'],
      [y, 'y'],
    ] as const) {
      if (t.bindingSize > limits.maxStorageBufferBindingSize)
        throw new RangeError(`gemm: ${name} [${t.shape}] exceeds one binding (${limits.maxStorageBufferBindingSize} B); encode fewer rows at a time`);
    }
    const parts = partsOf(args.w);
    parts.forEach((p, i) => checkWeight(p.tensor, parts.length > 1 ? `w part ${i}` : 'w'));
    const total = parts.reduce((s, p) => s + p.rowCount, 0);
    if (total !== n) throw new RangeError(`gemm: W has ${total} rows, the handle was made for n = ${n}`);
    let w2 = args.w2;
    if (swiglu) {
      if (!w2) throw new TypeError('gemm: swiglu needs w2 (the up projection)');
      if (parts.length !== 1) throw new TypeError('gemm: swiglu takes whole weights, not parts');
      checkWeight(w2, 'w2');
      if (w2.shape[0] !== n) throw new RangeError(`gemm: w2 must be [${n}, ${k}], got [${w2.shape}]`);
      if ((storedF16Scale(w2) === undefined) !== (storedF16Scale(parts[0]!.tensor) === undefined))
        throw new TypeError('gemm: w and w2 must both be re-encoded by storeAsF16, or neither');
    } else if (w2) {
      throw new TypeError('gemm: w2 is for swiglu handles only');
    }
    const given = args.xSplit && splitXWords(rows) > 0 ? args.xSplit : undefined;
    if (given) {
      const { xs, rowExp } = given;
      if (xs.dtype !== 'u32' || xs.numel < splitXWords(rows))
        throw new RangeError(`gemm: xSplit.xs must be u32 with at least ${splitXWords(rows)} words for ${rows} rows, got [${xs.shape}] ${xs.dtype}`);
      if ((rowExp.dtype !== 'i32' && rowExp.dtype !== 'u32') || rowExp.numel < rows)
        throw new RangeError(`gemm: xSplit.rowExp must be i32 (or u32) with at least ${rows} elements, got [${rowExp.shape}] ${rowExp.dtype}`);
    }
    const ran: GemmPath[] = [];
    let deferred: SplitSums | undefined;
    if (rows === 0) return { ran };

    let scaled: { exps: Tensor; xs: Tensor } | undefined;
    for (const part of parts) {
      const second = w2 ?? part.tensor;
      let range: WeightRange | undefined;
      let range2: WeightRange | undefined;
      if (sg) {
        range = knownWeightRange(part.tensor);
        range2 = w2 ? knownWeightRange(w2) : range;
        if (!range || !range2)
          throw new Error(
            `gemm: weight [${part.tensor.shape}] was not checked for the tensor-core path; await gemm.prepare(w${swiglu ? ', w2' : ''}) once after uploading it`,
          );
      }
      const base = { rows, n: part.rowCount, k, y_stride: n, col0: part.rowStart };
      if (sg && range!.exact && range2!.exact) {
        if (!scaled && given) scaled = { exps: given.rowExp, xs: given.xs };
        if (!scaled) {
          // The inline kernel splits x itself: the row-scale pass only writes exponents, xs is a placeholder.
          scaled = { exps: rowExp(rows), xs: sg.tile.variant === 'inline' ? grow('split x', 1) : splitX(rows) };
          rowScale!.encode(pass, { x, row_exp: scaled.exps, xs: scaled.xs }, { rows, k }, rows, { tag: `${tag} split x`, bytes: rows * k * 8 });
        }
        const split = subgroupMatrixSplitK(sg.tile, rows, part.rowCount, k);
        const { kernel, reduce } = sg.forSplit(split);
        const groups = Math.ceil(rows / sg.bm) * Math.ceil(part.rowCount / sg.bn) * split;
        const params = { ...base, w_scale: 2 ** range!.scaleLog2, w2_scale: 2 ** range2!.scaleLog2 };
        // part: [split][rows][n][gate, up] f32 raw sums (a placeholder without a k-split).
        const sums = splitKSums(split, rows, part.rowCount);
        // Weights stored as f16 · 2^s fragments (storeAsF16) are loaded as they are: no W pass.
        const convert = toF16 && !range!.stored;
        const ws = convert ? toFragments(pass, part, second, y, params, 0, tag) : part.tensor;
        const ws2 = convert && swiglu ? toFragments(pass, part, second, y, params, 1, tag) : range!.stored ? second : ws;
        kernel(pass, { x, xs: scaled.xs, w: part.tensor, w2: second, y, row_exp: scaled.exps, part: sums, ws, ws2 }, params, groups, {
          tag,
          bytes: bytes(part.rowCount),
        });
        if (reduce && defer) {
          deferred = { sums, splits: split, rows, n: part.rowCount, rowExp: scaled.exps, shift: range!.scaleLog2 };
        } else if (reduce) {
          reduce.encode(pass, { w: part.tensor, w2: second, y, row_exp: scaled.exps, part: sums }, params, Math.ceil((rows * part.rowCount) / 256), {
            tag: `${tag} split-k sum`,
            bytes: sums.byteLength + rows * part.rowCount * 4,
          });
        }
        ran.push('subgroup-matrix');
      } else {
        const split = fmaSplitK(ft, rows, part.rowCount, k);
        const { kernel, reduce: fmaReduce } = fmaFor(split);
        const sums = splitKSums(split, rows, part.rowCount);
        const params = { ...base, w_scale: 1, w2_scale: 1 };
        const groups = Math.ceil(rows / ft.bm) * Math.ceil(part.rowCount / ft.bn) * split;
        kernel.encode(pass, { x, w: part.tensor, w2: second, y, part: sums }, params, groups, { tag, bytes: bytes(part.rowCount) });
        if (fmaReduce && defer) {
          deferred = { sums, splits: split, rows, n: part.rowCount, shift: 0 };
        } else if (fmaReduce) {
          // row_exp is not read without SCALED: the sums stand in for it.
          fmaReduce.encode(pass, { w: part.tensor, w2: second, y, row_exp: sums, part: sums }, params, Math.ceil((rows * part.rowCount) / 256), {
            tag: `${tag} split-k sum`,
            bytes: sums.byteLength + rows * part.rowCount * 4,
          });
        }
        ran.push('fma');
      }
    }
    return deferred ? { ran, sums: deferred } : { ran };
  }
}

type SgBindings = Record<'x' | 'xs' | 'w' | 'w2' | 'y' | 'row_exp' | 'part' | 'ws' | 'ws2', Tensor>;
/** A tensor-core kernel compiled for one k split, and the reduce that finishes it (split > 1). */
interface SgRun {
  kernel: SgKernel;
  reduce?: ReturnType<typeof splitKReduceKernel.compile>;
}
type SgKernel = (target: DispatchTarget, bindings: SgBindings, params: Parameters<typeof gemmUniforms.pack>[0], groups: number, meta?: DispatchMeta) => void;

/** Workgroup memory of a subgroup-matrix tile, as the WGSL declares it (bytes). */
function sgSharedBytes(tile: SubgroupMatrixTile, swiglu: boolean): number {
  const bm = tile.sgM * tile.tm * 16;
  const bn = tile.sgN * tile.tn * 16;
  const nsg = tile.sgM * tile.sgN;
  if (tile.variant === 'inline') {
    const as = 40; // gemm-subgroup-matrix.wgsl: BK + 8
    return (2 * bm * as + 2 * bn * as) * 2 + bm * 4 + nsg * 512 * 4;
  }
  if (tile.variant === 'f16w') return nsg * (swiglu ? 512 : 256) * 4;
  const ws = 2 * bn * (tile.bk + 8); // gemm-subgroup-matrix-presplit.wgsl: WS_LEN
  return (ws + (swiglu ? ws : 16 * (tile.bk + 8))) * 2 + nsg * (swiglu ? 512 : 256) * 4;
}

// Kernels by module text (tile, subgroup size, swiglu, emulation): handles of one shape share one pipeline.
const sgKernels = new Map<string, ReturnType<typeof definePresplit> | ReturnType<typeof defineInline> | ReturnType<typeof defineF16w>>();

function sgModule(tile: SubgroupMatrixTile, subgroupSize: number, swiglu: boolean, emulate: boolean): string {
  const header = [
    `const SG_M: u32 = ${tile.sgM}u;`,
    `const SG_N: u32 = ${tile.sgN}u;`,
    `const TM: u32 = ${tile.tm}u;`,
    `const TN: u32 = ${tile.tn}u;`,
    `const SUBGROUP: u32 = ${subgroupSize}u;`,
    ...(tile.variant === 'presplit'
      ? [
          `const BK: u32 = ${tile.bk}u;`,
          `const PAIRED: bool = ${swiglu};`,
          `const PREFETCH_A: bool = ${tile.prefetchA === true};`,
          `const SPLIT_K: u32 = ${tile.splitK}u;`,
        ]
      : tile.variant === 'f16w'
        ? [`const PAIRED: bool = ${swiglu};`, `const SPLIT_K: u32 = ${tile.splitK}u;`]
        : []),
  ].join('\n');
  const body =
    tile.variant === 'presplit'
      ? `${sgSplitK}\n${sgPresplitSource}`
      : tile.variant === 'f16w'
        ? `${sgSplitK}\n${sgF16wSource}`
        : `${xSplitWgsl}\n${sgInlineSource}`;
  // The prelude opens the module: `enable` directives must come first.
  return `${emulate ? sgEmulated : sgNative}\n${header}\n${dtypeWgsl}\n${common}\n${unscaleSource}\n${sgEpilogue}\n${body}`;
}

const definePresplit = (label: string, code: string) =>
  defineKernel({ label, code, bindings: { xs: 'read', w: 'read', w2: 'read', y: 'read_write', row_exp: 'read', part: 'read_write' }, uniforms: gemmUniforms });
const defineF16w = (label: string, code: string) =>
  defineKernel({
    label,
    code,
    bindings: { xs: 'read', w: 'read', w2: 'read', ws: 'read', ws2: 'read', y: 'read_write', row_exp: 'read', part: 'read_write' },
    uniforms: gemmUniforms,
  });
const defineInline = (label: string, code: string) =>
  defineKernel({ label, code, bindings: { x: 'read', w: 'read', w2: 'read', y: 'read_write', row_exp: 'read' }, uniforms: gemmUniforms });

function compileSg(
  ctx: GpuContext,
  tile: SubgroupMatrixTile,
  subgroupSize: number,
  swiglu: boolean,
  emulate: boolean,
  constants: Record<string, number>,
): SgKernel {
  const code = sgModule(tile, subgroupSize, swiglu, emulate);
  const label = `gemm subgroup-matrix ${tile.variant}${emulate ? ' (emulated)' : ''} ${tile.sgM}x${tile.sgN}/${tile.tm}x${tile.tn}/${tile.bk}${tile.prefetchA ? ' prefetch' : ''}${tile.splitK > 1 ? ` split-k ${tile.splitK}` : ''}`;
  if (tile.variant === 'presplit') {
    let kernel = sgKernels.get(code) as ReturnType<typeof definePresplit> | undefined;
    if (!kernel) sgKernels.set(code, (kernel = definePresplit(label, code)));
    const compiled = kernel.compile(ctx, constants);
    return (target, b, params, groups, meta) =>
      compiled.encode(target, { xs: b.xs, w: b.w, w2: b.w2, y: b.y, row_exp: b.row_exp, part: b.part }, params, groups, meta);
  }
  if (tile.variant === 'f16w') {
    let kernel = sgKernels.get(code) as ReturnType<typeof defineF16w> | undefined;
    if (!kernel) sgKernels.set(code, (kernel = defineF16w(label, code)));
    const compiled = kernel.compile(ctx, constants);
    return (target, b, params, groups, meta) =>
      compiled.encode(target, { xs: b.xs, w: b.w, w2: b.w2, ws: b.ws, ws2: b.ws2, y: b.y, row_exp: b.row_exp, part: b.part }, params, groups, meta);
  }
  let kernel = sgKernels.get(code) as ReturnType<typeof defineInline> | undefined;
  if (!kernel) sgKernels.set(code, (kernel = defineInline(label, code)));
  const compiled = kernel.compile(ctx, constants);
  return (target, b, params, groups, meta) => compiled.encode(target, { x: b.x, w: b.w, w2: b.w2, y: b.y, row_exp: b.row_exp }, params, groups, meta);
}
