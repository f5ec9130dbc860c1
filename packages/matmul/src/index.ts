export { createGemm, DEFAULT_F16W_MAX_BYTES, f16wScratchBytes, resolveSubgroupMatrixTile, subgroupMatrixSplitK, subgroupMatrixSupport } from './gemm.ts';
export type {
  FmaTile,
  Gemm,
  GemmArgs,
  GemmDtype,
  GemmOptions,
  GemmPath,
  SubgroupMatrixTile,
  SubgroupMatrixTileOptions,
  SubgroupMatrixVariant,
} from './gemm.ts';
export type { SplitSums, XSplit } from '@qwen3-webgpu/tensor';
export { checkWeightRange, checkWeightRanges, storedF16Scale } from './weight-range.ts';
export { storeAsF16 } from './store-f16.ts';
export type { StoredF16 } from './store-f16.ts';
export type { WeightRange } from './weight-range.ts';
export { gemmReference } from './reference.ts';
export type { GemmReferenceOptions } from './reference.ts';
