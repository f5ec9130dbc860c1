import {
  createTensor,
  defineKernel,
  defineUniforms,
  dtypeBytes,
  dtypeWgsl,
  elementWindow,
  wgslDtypeCode,
  xSplitKTiles,
  xSplitWgsl,
  type DispatchTarget,
  type GpuContext,
  type SplitSums,
  type Tensor,
  type XSplit,
} from '@qwen3-webgpu/tensor';
import common from './common.wgsl';
import reduceSubgroup from './reduce-subgroup.wgsl';
import reduceWorkgroup from './reduce-workgroup.wgsl';
import vec4Add from './rmsnorm-vec4-add.wgsl';
import vec4Plain from './rmsnorm-vec4-plain.wgsl';
import vec4SplitStore from './rmsnorm-vec4-split-store.wgsl';
import vec4Split from './rmsnorm-vec4-split.wgsl';
import vec4Body from './rmsnorm-vec4.wgsl';
import scalarBody from './rmsnorm.wgsl';

export type RmsNormDtype = 'f32' | 'bf16' | 'f16';
export type ReductionPath = 'subgroup' | 'workgroup';

export interface RmsNormF32Options {
  /** Row length (hidden size, or head_dim for Qwen3's per-head q_norm / k_norm). */
  n: number;
  /** Default 1e-6 (Qwen3). */
  eps?: number;
  /**
   * Reduction path; default 'workgroup' (a workgroup-memory tree). 'subgroup' (needs the feature) uses subgroup
   * shuffles; on H100 it was never faster at the benchmark shape and sometimes 20 % slower (README).
   */
  path?: ReductionPath;
  /** Threads per row, a power of two ≤ 256 (tuning); default: enough for about four loads per thread. */
  threadsPerRow?: number;
  /** 4-element units each thread loads together on aligned rows: 1, 2 or 4 (tuning); default: 4 once a row has
   * more than 128 units. */
  unroll?: number;
  /** Threads per workgroup: 64 … 1024, a power of two (tuning); default 256. */
  workgroupSize?: number;
}

export interface RmsNormArgs {
  /** x: [rows, n] in f32, bf16 or f16 (rows xStride elements apart, starting at element xOffset). */
  x: Tensor;
  /** w: [n] in f32, bf16 or f16. */
  w: Tensor;
  /** y: [rows, n] f32 (rows yStride elements apart, starting at element yOffset). */
  y: Tensor;
  rows: number;
  xOffset?: number;
  xStride?: number;
  yOffset?: number;
  yStride?: number;
  /**
   * Also write y as a tensor-core GEMM reads it (@qwen3-webgpu/tensor's x-split.wgsl: each row scaled by the power of
   * two that puts its largest |y| in [2^14, 2^15), split into f16 hi + lo; the same y values), so that GEMM needs no
   * splitting pass of its own (@qwen3-webgpu/matmul's GemmArgs.xSplit). Rows of whole 4-element units only (n,
   * strides and offsets multiples of 4). xs: at least ceil(rows / 16) · 16 · 16 · xSplitKTiles(n) words (u32; a
   * GEMM's splitXWords(rows) for k = n), rowExp: at least `rows` (i32).
   */
  split?: XSplit;
  /**
   * First add a k-split GEMM's partial sums into x and write x back (@qwen3-webgpu/matmul's encodeDeferringSum on the
   * projection that adds into the residual stream: its own sum pass is skipped), then normalize the new x. x must be
   * f32 rows of whole 4-element units in one dispatch; the sums [splits, rows, n] of exactly these rows and n.
   */
  addSums?: SplitSums;
}

export interface RmsNormF32 {
  readonly n: number;
  readonly eps: number;
  readonly path: ReductionPath;
  /**
   * Records y = RMSNorm(x) · w into a pass, or into a DispatchList that replays it (several dispatches when x or y
   * exceeds one binding), and says which kernel layout ran: 'vec4' for 16-byte aligned rows, else 'scalar'.
   */
  encode(target: DispatchTarget, args: RmsNormArgs): { layouts: ('vec4' | 'scalar')[] };
}

const uniforms = defineUniforms({
  rows: 'u32',
  n: 'u32',
  x_offset: 'u32',
  x_stride: 'u32',
  y_offset: 'u32',
  y_stride: 'u32',
  eps: 'f32',
  split_row0: 'u32',
  sums_splits: 'u32',
  sums_shift: 'i32',
});
const bindings = { x: 'read', w: 'read', y: 'read_write' } as const;
const splitBindings = { ...bindings, xs: 'read_write', row_exp: 'read_write' } as const;
// A module is reduction + common + body; `enable subgroups;` must open it, so the reduction comes first.
const reductions = { workgroup: reduceWorkgroup, subgroup: reduceSubgroup } as const;
const define = (path: ReductionPath, layout: 'scalar' | 'vec4') =>
  defineKernel({
    label: `rmsnorm_f32_${layout}_${path}`,
    code: `${reductions[path]}\n${dtypeWgsl}\n${common}\n${layout === 'vec4' ? `${xSplitWgsl}\n${vec4Body}\n${vec4Plain}` : scalarBody}`,
    bindings,
    uniforms,
  });
// x + k-split sums first (RmsNormArgs.addSums), with the split (SPLIT) or without (xs and row_exp: placeholders).
const addBindings = { x: 'read_write', w: 'read', y: 'read_write', xs: 'read_write', row_exp: 'read_write', sums: 'read', sums_exp: 'read' } as const;
// The vec4 kernels that write the split: their tail (split or add) declares x and the split's bindings.
const defineWithSplit = <B extends string>(path: ReductionPath, kind: 'split' | 'add', tail: string, b: Readonly<Record<B, 'read' | 'read_write'>>) =>
  defineKernel({
    label: `rmsnorm_f32_vec4_${path}_${kind}`,
    code: `${reductions[path]}\n${dtypeWgsl}\n${common}\n${xSplitWgsl}\n${vec4Body}\n${tail}\n${vec4SplitStore}`,
    bindings: b,
    uniforms,
  });
const defineSplit = (path: ReductionPath) => defineWithSplit(path, 'split', vec4Split, splitBindings);
const defineAdd = (path: ReductionPath) => defineWithSplit(path, 'add', vec4Add, addBindings);
const kernels = {
  scalar: { workgroup: define('workgroup', 'scalar'), subgroup: define('subgroup', 'scalar') },
  vec4: { workgroup: define('workgroup', 'vec4'), subgroup: define('subgroup', 'vec4') },
  split: { workgroup: defineSplit('workgroup'), subgroup: defineSplit('subgroup') },
  add: { workgroup: defineAdd('workgroup'), subgroup: defineAdd('subgroup') },
};

// Bound as xs and row_exp where the add kernel writes no split (it never touches them; writable bindings may not
// alias): two tiny buffers per context, shared by its handles, gone with its device.
const placeholders = new WeakMap<GpuContext, { xs: Tensor; row_exp: Tensor }>();
function placeholdersOf(ctx: GpuContext): { xs: Tensor; row_exp: Tensor } {
  let p = placeholders.get(ctx);
  if (!p) {
    p = {
      xs: createTensor(ctx, [4], 'u32', { label: 'rmsnorm-f32 xs placeholder' }),
      row_exp: createTensor(ctx, [4], 'i32', { label: 'rmsnorm-f32 row_exp placeholder' }),
    };
    placeholders.set(ctx, p);
  }
  return p;
}

function dtypeOf(t: Tensor, name: string): RmsNormDtype {
  if (t.dtype === 'f32' || t.dtype === 'bf16' || t.dtype === 'f16') return t.dtype;
  throw new TypeError(`rmsnorm-f32: ${name} must be f32, bf16 or f16, got ${t.dtype}`);
}

function pow2AtLeast(v: number): number {
  let p = 1;
  while (p < v) p *= 2;
  return p;
}

export function createRmsNormF32(ctx: GpuContext, options: RmsNormF32Options): RmsNormF32 {
  const { n } = options;
  const eps = options.eps ?? 1e-6;
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`rmsnorm-f32: n must be a positive integer, got ${n}`);
  if (!(eps >= 0) || !Number.isFinite(eps)) throw new RangeError(`rmsnorm-f32: eps must be a finite number ≥ 0, got ${eps}`);
  const path = options.path ?? 'workgroup';
  if (path === 'subgroup' && !ctx.features.subgroups) throw new Error('rmsnorm-f32: the subgroup path needs the "subgroups" feature, which this device lacks');
  const maxBinding = ctx.limits.maxStorageBufferBindingSize;
  const unrollOption = options.unroll;
  if (unrollOption !== undefined && unrollOption !== 1 && unrollOption !== 2 && unrollOption !== 4) {
    throw new RangeError(`rmsnorm-f32: unroll must be 1, 2 or 4, got ${unrollOption}`);
  }
  const WG = options.workgroupSize ?? 256;
  if (![64, 128, 256, 512, 1024].includes(WG) || WG > ctx.limits.maxComputeInvocationsPerWorkgroup) {
    throw new RangeError(
      `rmsnorm-f32: workgroupSize must be a power of two in [64, ${Math.min(1024, ctx.limits.maxComputeInvocationsPerWorkgroup)}], got ${WG}`,
    );
  }
  const tprOption = options.threadsPerRow;
  if (tprOption !== undefined && !(Number.isInteger(tprOption) && tprOption >= 1 && tprOption <= WG && (tprOption & (tprOption - 1)) === 0)) {
    throw new RangeError(`rmsnorm-f32: threadsPerRow must be a power of two in [1, workgroupSize], got ${tprOption}`);
  }

  // Every variant's bindings are a subset of the add kernel's: each kernel reads the names it declares.
  type Compiled = ReturnType<(typeof kernels)['add']['workgroup']['compile']>;
  const variants = new Map<string, { kernel: Compiled; rowsPerWg: number }>();
  return {
    n,
    eps,
    path,
    encode(target, args) {
      const { x, w, y, rows } = args;
      const xDtype = dtypeOf(x, 'x');
      const wDtype = dtypeOf(w, 'w');
      if (y.dtype !== 'f32') throw new TypeError(`rmsnorm-f32: y must be f32, got ${y.dtype}`);
      if (!Number.isSafeInteger(rows) || rows < 0) throw new RangeError(`rmsnorm-f32: rows must be a non-negative integer, got ${rows}`);
      if (w.numel < n) throw new RangeError(`rmsnorm-f32: w has ${w.numel} elements, needs n = ${n}`);
      const xOffset = args.xOffset ?? 0;
      const xStride = args.xStride ?? n;
      const yOffset = args.yOffset ?? 0;
      const yStride = args.yStride ?? n;
      if (xStride < n || yStride < n) throw new RangeError(`rmsnorm-f32: row strides (${xStride}, ${yStride}) must be ≥ n = ${n}`);
      const span = (offset: number, stride: number, count: number) => (count === 0 ? 0 : offset + (count - 1) * stride + n);
      if (span(xOffset, xStride, rows) > x.numel)
        throw new RangeError(`rmsnorm-f32: x [${x.shape}] is too small for ${rows} rows of ${n} at offset ${xOffset}, stride ${xStride}`);
      if (span(yOffset, yStride, rows) > y.numel)
        throw new RangeError(`rmsnorm-f32: y [${y.shape}] is too small for ${rows} rows of ${n} at offset ${yOffset}, stride ${yStride}`);
      const split = args.split;
      if (split) {
        const words = Math.ceil(rows / 16) * 16 * 16 * xSplitKTiles(n);
        if (split.xs.dtype !== 'u32' || split.xs.numel < words)
          throw new RangeError(
            `rmsnorm-f32: split.xs must be u32 with at least ${words} words for ${rows} rows of ${n}, got [${split.xs.shape}] ${split.xs.dtype}`,
          );
        if ((split.rowExp.dtype !== 'i32' && split.rowExp.dtype !== 'u32') || split.rowExp.numel < rows)
          throw new RangeError(
            `rmsnorm-f32: split.rowExp must be i32 (or u32) with at least ${rows} elements, got [${split.rowExp.shape}] ${split.rowExp.dtype}`,
          );
      }
      const add = args.addSums;
      if (add) {
        if (xDtype !== 'f32') throw new TypeError(`rmsnorm-f32: addSums adds into x, which must then be f32, got ${xDtype}`);
        if (add.n !== n || add.rows !== rows)
          throw new RangeError(`rmsnorm-f32: addSums holds [${add.rows}, ${add.n}] sums, the call normalizes [${rows}, ${n}]`);
        if (!Number.isSafeInteger(add.splits) || add.splits < 1)
          throw new RangeError(`rmsnorm-f32: addSums.splits must be a positive integer, got ${add.splits}`);
        if (!Number.isSafeInteger(add.shift) || Math.abs(add.shift) > 126)
          throw new RangeError(`rmsnorm-f32: addSums.shift must be an integer in −126 … 126, got ${add.shift}`);
        const sums = add.sums;
        if (
          (sums.dtype !== 'f32' && sums.dtype !== 'u32') ||
          sums.numel < add.splits * rows * n ||
          sums.byteOffset % ctx.limits.minStorageBufferOffsetAlignment !== 0
        )
          throw new RangeError(
            `rmsnorm-f32: addSums.sums must be f32 words (${add.splits} × ${rows} × ${n}) at an aligned offset, got [${sums.shape}] ${sums.dtype} at byte ${sums.byteOffset}`,
          );
        if (sums.bindingSize > maxBinding) throw new RangeError(`rmsnorm-f32: addSums.sums [${sums.shape}] exceeds one binding (${maxBinding} B)`);
        const exps = add.rowExp;
        if (exps && ((exps.dtype !== 'i32' && exps.dtype !== 'u32') || exps.numel < rows))
          throw new RangeError(`rmsnorm-f32: addSums.rowExp must be i32 (or u32) with at least ${rows} elements, got [${exps.shape}] ${exps.dtype}`);
        // The sums are read while x, y and the split are written: none of them may share a buffer with the sums.
        const written = [x, y, ...(args.split ? [args.split.xs, args.split.rowExp] : [])];
        const read: [Tensor, string][] = [[sums, 'sums'], ...(exps ? [[exps, 'rowExp'] as [Tensor, string]] : [])];
        for (const [t, name] of read) {
          if (written.some((o) => o.buffer === t.buffer))
            throw new RangeError(`rmsnorm-f32: addSums.${name} shares a buffer with x, y or the split this call writes`);
        }
      }
      const layouts: ('vec4' | 'scalar')[] = [];
      if (rows === 0) return { layouts };

      const xBytes = dtypeBytes(xDtype);
      const wWindow = elementWindow(w, 0, n);
      if (wWindow.elementOffset !== 0) throw new RangeError('rmsnorm-f32: w must start on a binding-aligned offset');
      // The vec4 kernel takes rows of whole 4-element units: n, strides and offsets multiples of 4.
      const vecRows = n % 4 === 0 && xStride % 4 === 0 && yStride % 4 === 0 && ctx.limits.minStorageBufferOffsetAlignment % 16 === 0;
      const nvec = n / 4;
      const variant = (vec4: boolean) => {
        if ((split || add) && !vec4)
          throw new RangeError(
            `rmsnorm-f32: ${add ? 'addSums' : 'the split output'} needs rows of whole 4-element units (n ${n}, strides ${xStride}/${yStride} and offsets multiples of 4)`,
          );
        // vec4 kernel: up to four 4-element units per thread, issued together, with up to 256 threads per row
        // (measured best on H100: 64 threads × 4 units for hidden 1024, README); scalar kernel: about four loads
        // per thread.
        // With addSums each unit is 1 + splits loads already: as many threads as units (one a thread up to a
        // workgroup a row; H200, 512 rows of 1,024: 17 µs a dispatch against 28 at four units a thread).
        const unroll = unrollOption ?? (add ? Math.min(4, pow2AtLeast(Math.ceil(nvec / WG))) : nvec <= 64 ? 1 : nvec <= 128 ? 2 : 4);
        const tpr = Math.min(WG, options.threadsPerRow ?? pow2AtLeast(Math.ceil(vec4 ? nvec / unroll : n / 4)));
        const constants: Record<string, number> = { X_DTYPE: wgslDtypeCode(xDtype), W_DTYPE: wgslDtypeCode(wDtype), WG, TPR: tpr };
        if (vec4) Object.assign(constants, { UNROLL: unroll, SINGLE: nvec <= unroll * tpr ? 1 : 0 });
        if (path === 'subgroup') constants['SUBGROUP_ONLY'] = tpr <= ctx.info.subgroupMinSize ? 1 : 0;
        if (add) Object.assign(constants, { SPLIT: split ? 1 : 0, SUMS_SCALED: add.rowExp ? 1 : 0 });
        const kind = add ? 'add' : split ? 'split' : vec4 ? 'vec4' : 'scalar';
        return { kernel: kernels[kind][path].compile(ctx, constants) as Compiled, rowsPerWg: WG / tpr };
      };
      // What variant() returns depends on the dtypes, the layout and the split only (the rest is the handle's): looked
      // up once a call, not rebuilt per chunk of rows and call.
      const variantKey = (vec4: boolean) =>
        `${xDtype}|${wDtype}|${vec4 ? 'vec4' : 'scalar'}|${split ? 'split' : 'plain'}|${add ? (add.rowExp ? 'add scaled' : 'add') : ''}`;
      const cachedVariant = (vec4: boolean) => {
        const key = variantKey(vec4);
        let v = variants.get(key);
        if (!v) variants.set(key, (v = variant(vec4)));
        return v;
      };

      // Rows per dispatch: as many as fit one binding of x and of y (the whole tensor when it fits).
      const align = ctx.limits.minStorageBufferOffsetAlignment;
      const rowBytes = Math.max(xStride * xBytes, yStride * 4);
      const chunk = Math.max(1, Math.floor((maxBinding - 2 * align - 16) / rowBytes));
      // The sums are laid out for the whole call: it must be one dispatch.
      if (add && chunk < rows) throw new RangeError(`rmsnorm-f32: addSums takes rows that fit one binding (${chunk} rows of ${n}), got ${rows}`);
      const addBound = add
        ? {
            sums: add.sums,
            sums_exp: add.rowExp ?? add.sums,
            ...(split ? {} : placeholdersOf(ctx)),
          }
        : {};
      for (let r0 = 0; r0 < rows; r0 += chunk) {
        const count = Math.min(chunk, rows - r0);
        const xw = elementWindow(x, xOffset + r0 * xStride, span(0, xStride, count));
        const yw = elementWindow(y, yOffset + r0 * yStride, span(0, yStride, count));
        const vec4 = vecRows && xw.elementOffset % 4 === 0 && yw.elementOffset % 4 === 0;
        const { kernel, rowsPerWg } = cachedVariant(vec4);
        layouts.push(vec4 ? 'vec4' : 'scalar');
        kernel.encode(
          target,
          { x: xw.binding, w: wWindow.binding, y: yw.binding, ...(split ? { xs: split.xs, row_exp: split.rowExp } : {}), ...addBound } as Parameters<
            Compiled['encode']
          >[1],
          {
            rows: count,
            n,
            x_offset: xw.elementOffset,
            x_stride: xStride,
            y_offset: yw.elementOffset,
            y_stride: yStride,
            eps,
            split_row0: r0,
            sums_splits: add?.splits ?? 0,
            sums_shift: add?.shift ?? 0,
          },
          Math.ceil(count / rowsPerWg),
          { tag: 'rmsnorm', bytes: count * n * (xBytes + 4 + (split ? 4 : 0) + (add ? 4 + 4 * add.splits : 0)) + n * dtypeBytes(wDtype) },
        );
      }
      return { layouts };
    },
  };
}
