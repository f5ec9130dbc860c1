import {
  createTensor,
  defineKernel,
  defineUniforms,
  dtypeBytes,
  dtypeWgsl,
  wgslDtypeCode,
  type DispatchTarget,
  type GpuContext,
  type RowPart,
  type Tensor,
} from '@qwen3-webgpu/tensor';
import common from './gemm-common.wgsl';
import sgSource from './gemm-subgroup-matrix.wgsl';
import fmaSource from './gemm.wgsl';
import rowScaleSource from './row-scale.wgsl';
import sgEmulated from './subgroup-matrix-emulated.wgsl';
import sgNative from './subgroup-matrix.wgsl';
import { checkWeightRanges, knownWeightRange, type WeightRange } from './weight-range.ts';

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
}

/** Subgroup-matrix kernel tile: sgM × sgN subgroups per workgroup, each tm × tn 16 × 16 accumulators. */
export interface SubgroupMatrixTile {
  sgM: number;
  sgN: number;
  tm: number;
  tn: number;
}

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
  subgroupMatrixTile?: Partial<SubgroupMatrixTile>;
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
}

export interface Gemm {
  readonly n: number;
  readonly k: number;
  readonly wDtype: GemmDtype;
  /** The path this handle prefers; a weight that is not exact in f16 still goes through 'fma'. */
  readonly path: GemmPath;
  /** Why the subgroup-matrix path is not this handle's path (empty when it is). */
  readonly pathReason: string;
  /**
   * Checks each weight tensor's range once (a GPU reduction) so that encode can send it to the tensor cores; call it
   * after uploading W (and W2). Results are cached per tensor for every handle. Needed only on the subgroup-matrix
   * path; resolves at once on the FMA path.
   */
  prepare(w: Tensor | RowPart[], w2?: Tensor): Promise<WeightRange[]>;
  /** Records y (+)= x·Wᵀ into a pass or a DispatchList and says which kernel runs for each part of W. */
  encode(target: DispatchTarget, args: GemmArgs): GemmPath[];
  /** Frees the handle's scratch buffers. */
  destroy(): void;
}

const gemmUniforms = defineUniforms({ rows: 'u32', n: 'u32', k: 'u32', y_stride: 'u32', col0: 'u32', w_scale: 'f32', w2_scale: 'f32' });
const rowScaleKernel = defineKernel({
  label: 'gemm row scale',
  code: rowScaleSource,
  bindings: { x: 'read', row_exp: 'read_write' },
  uniforms: defineUniforms({ rows: 'u32', k: 'u32' }),
});

const DEFAULT_FMA: FmaTile = { bm: 64, bn: 64, bk: 16, tm: 4, tn: 4 };

function checkFmaTile(ft: FmaTile, limits: GPUSupportedLimits): void {
  for (const key of ['bm', 'bn', 'bk', 'tm', 'tn'] as const) positiveInt(`fmaTile.${key}`, ft[key]);
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
    bindings: { x: 'read', w: 'read', w2: 'read', y: 'read_write' },
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
  const fma = fmaKernel(ft).compile(ctx, constants);

  // The tensor-core kernel, where offered (or emulated, in tests).
  const emulate = options.emulateSubgroupMatrix ?? false;
  const support = emulate
    ? { reason: ctx.features.shaderF16 ? '' : "emulating subgroup matrices needs 'shader-f16'", subgroupSize: 32 }
    : subgroupMatrixSupport(ctx);
  const wanted = options.path ?? 'auto';
  if (wanted === 'subgroup-matrix' && support.reason) throw new Error(`gemm: the subgroup-matrix path is not available here: ${support.reason}`);
  const path: GemmPath = wanted === 'fma' || support.reason ? 'fma' : 'subgroup-matrix';
  const pathReason = wanted === 'fma' ? 'fma requested' : support.reason;
  let sg: { kernel: ReturnType<ReturnType<typeof defineSg>['compile']>; tile: SubgroupMatrixTile; bm: number; bn: number } | undefined;
  let rowScale: ReturnType<typeof rowScaleKernel.compile> | undefined;
  if (path === 'subgroup-matrix') {
    const tile: SubgroupMatrixTile = { sgM: 2, sgN: 2, tm: 2, tn: !swiglu && n >= 4096 ? 4 : 2, ...options.subgroupMatrixTile };
    for (const key of ['sgM', 'sgN', 'tm', 'tn'] as const) positiveInt(`subgroupMatrixTile.${key}`, tile[key]);
    const bm = tile.sgM * tile.tm * 16;
    const bn = tile.sgN * tile.tn * 16;
    const threads = tile.sgM * tile.sgN * support.subgroupSize;
    const AS = 40; // row stride of the f16 tiles (gemm-subgroup-matrix.wgsl)
    const shared = (2 * bm * AS + 2 * bn * AS) * 2 + bm * 4 + tile.sgM * tile.sgN * 512 * 4;
    if (threads > limits.maxComputeInvocationsPerWorkgroup || shared > limits.maxComputeWorkgroupStorageSize) {
      throw new RangeError(
        `gemm: subgroupMatrixTile ${JSON.stringify(tile)} needs ${threads} invocations and ${shared} B of workgroup memory; this adapter allows ${limits.maxComputeInvocationsPerWorkgroup} and ${limits.maxComputeWorkgroupStorageSize}`,
      );
    }
    sg = { kernel: sgKernel(tile, support.subgroupSize, emulate).compile(ctx, constants), tile, bm, bn };
    rowScale = rowScaleKernel.compile(ctx);
  }

  // Per-row exponents of x (subgroup-matrix path): grown on demand, old ones kept until destroy() since a pass
  // recorded earlier may still use them.
  const scratch: Tensor[] = [];
  const rowExp = (rows: number): Tensor => {
    const last = scratch[scratch.length - 1];
    if (last && last.numel >= rows) return last;
    let cap = 1024;
    while (cap < rows) cap *= 2;
    const t = createTensor(ctx, [cap], 'i32', { label: 'gemm row exponents' });
    scratch.push(t);
    return t;
  };

  const partsOf = (w: Tensor | RowPart[]): RowPart[] => (Array.isArray(w) ? w : [{ rowStart: 0, rowCount: w.shape[0] ?? 0, tensor: w }]);
  const checkWeight = (t: Tensor, name: string) => {
    if (t.dtype !== wDtype) throw new TypeError(`gemm: ${name} must be ${wDtype} (the handle's wDtype), got ${t.dtype}`);
    if (t.shape.length !== 2 || t.shape[1] !== k) throw new RangeError(`gemm: ${name} must be [rows, ${k}], got [${t.shape}]`);
    if (t.bindingSize > limits.maxStorageBufferBindingSize) {
      throw new RangeError(`gemm: ${name} [${t.shape}] exceeds one binding (${limits.maxStorageBufferBindingSize} B); pass splitRows(${name})`);
    }
  };

  return {
    n,
    k,
    wDtype,
    path,
    pathReason,
    async prepare(w, w2) {
      if (path !== 'subgroup-matrix') return [];
      return checkWeightRanges(ctx, [...partsOf(w).map((p) => p.tensor), ...(w2 ? [w2] : [])]);
    },
    encode(pass, args) {
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
      } else if (w2) {
        throw new TypeError('gemm: w2 is for swiglu handles only');
      }
      const ran: GemmPath[] = [];
      if (rows === 0) return ran;

      let scaled: Tensor | undefined;
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
          if (!scaled) {
            scaled = rowExp(rows);
            rowScale!.encode(pass, { x, row_exp: scaled }, { rows, k }, rows, { tag: `${tag} row scale`, bytes: rows * k * 4 });
          }
          const groups = Math.ceil(rows / sg.bm) * Math.ceil(part.rowCount / sg.bn);
          sg.kernel.encode(
            pass,
            { x, w: part.tensor, w2: second, y, row_exp: scaled },
            { ...base, w_scale: 2 ** range!.scaleLog2, w2_scale: 2 ** range2!.scaleLog2 },
            groups,
            { tag, bytes: bytes(part.rowCount) },
          );
          ran.push('subgroup-matrix');
        } else {
          const groups = Math.ceil(rows / ft.bm) * Math.ceil(part.rowCount / ft.bn);
          fma.encode(pass, { x, w: part.tensor, w2: second, y }, { ...base, w_scale: 1, w2_scale: 1 }, groups, { tag, bytes: bytes(part.rowCount) });
          ran.push('fma');
        }
      }
      return ran;
    },
    destroy() {
      for (const t of scratch.splice(0)) t.destroy();
    },
  };
}

const sgKernelCache = new Map<string, ReturnType<typeof defineSg>>();
/** Like fmaKernel: one tensor-core kernel per tile, subgroup size and emulation for the whole process. */
function sgKernel(tile: SubgroupMatrixTile, subgroupSize: number, emulate: boolean) {
  const key = `${tile.sgM}x${tile.sgN}/${tile.tm}x${tile.tn}/${subgroupSize}/${emulate}`;
  let kernel = sgKernelCache.get(key);
  if (!kernel) sgKernelCache.set(key, (kernel = defineSg(tile, subgroupSize, emulate)));
  return kernel;
}

function defineSg(tile: SubgroupMatrixTile, subgroupSize: number, emulate: boolean) {
  const header = `const SG_M: u32 = ${tile.sgM}u;\nconst SG_N: u32 = ${tile.sgN}u;\nconst TM: u32 = ${tile.tm}u;\nconst TN: u32 = ${tile.tn}u;\nconst SUBGROUP: u32 = ${subgroupSize}u;`;
  return defineKernel({
    label: `gemm subgroup-matrix${emulate ? ' (emulated)' : ''} ${tile.sgM}x${tile.sgN}/${tile.tm}x${tile.tn}`,
    // The prelude opens the module: `enable` directives must come first.
    code: `${emulate ? sgEmulated : sgNative}\n${header}\n${dtypeWgsl}\n${common}\n${sgSource}`,
    bindings: { x: 'read', w: 'read', w2: 'read', y: 'read_write', row_exp: 'read' },
    uniforms: gemmUniforms,
  });
}
