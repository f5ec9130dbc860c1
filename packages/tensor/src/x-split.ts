import { f16ToF32 } from './codecs.ts';
import type { Tensor } from './tensor.ts';
import source from './x-split.wgsl';

/** x as x-split.wgsl lays it out: the f16 hi/lo fragments of x · 2^-rowExp (u32 pairs) and the row exponents (i32). */
export interface XSplit {
  xs: Tensor;
  rowExp: Tensor;
}

/**
 * A k-split GEMM's partial sums left for the kernel that consumes its output (@qwen3-webgpu/matmul's
 * encodeDeferringSum; @qwen3-webgpu/rmsnorm-f32's RmsNormArgs.addSums adds them into its x): output (r, c) is
 * 2^(rowExp[r] − shift) · Σ_{s < splits} sums[(s · rows + r) · n + c] (f32 words), summed in the order s = 0, 1, …
 * and then scaled (a power of two: exact); without rowExp the factor is 1. A GEMM's scratch holds them: read them
 * before any later GEMM of its context runs.
 */
export interface SplitSums {
  /** [splits, rows, n] f32 (the scratch may be typed u32 and larger). */
  sums: Tensor;
  splits: number;
  rows: number;
  n: number;
  /** i32 per row (the tensor-core GEMM's row exponents); absent where the sums are unscaled (FMA). */
  rowExp?: Tensor;
  shift: number;
}

/**
 * WGSL of x split for the tensor-core GEMM (x-split.wgsl: split_hi, split_row_exp, split_kt_count, split_word,
 * split_pair): f32 rows scaled by a power of two per row and stored as f16 hi + lo fragments. Shared by the GEMM that
 * reads the layout (@qwen3-webgpu/matmul) and the kernels that write it as they produce a row (its GemmArgs.xSplit).
 */
export const xSplitWgsl: string = source;

/** 16-column k tiles of a split row: k padded to a multiple of 64 (split_kt_count). */
export function xSplitKTiles(k: number): number {
  return Math.ceil(k / 64) * 4;
}

/**
 * What a split holds, back as f32 (tests): rows × (16 · xSplitKTiles(k)) values (hi + lo) · 2^rowExp, the padding
 * columns past k included.
 */
export function decodeXSplit(xs: Uint32Array, rowExp: Int32Array, rows: number, k: number): Float32Array {
  const kt = xSplitKTiles(k);
  const width = kt * 16;
  const halves = f16ToF32(new Uint16Array(xs.buffer, xs.byteOffset, xs.length * 2));
  const out = new Float32Array(rows * width);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < width; c++) {
      // split_word(r, c & ~1, kt) and the half of c in it; lo is 128 words further.
      const word = Math.floor(r / 16) * kt * 256 + Math.floor(c / 16) * 256 + (r % 16) * 8 + Math.floor((c % 16) / 2);
      out[r * width + c] = (halves[2 * word + (c % 2)]! + halves[2 * (word + 128) + (c % 2)]!) * 2 ** rowExp[r]!;
    }
  }
  return out;
}
