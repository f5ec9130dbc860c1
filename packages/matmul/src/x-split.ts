import source from './x-split.wgsl';

/**
 * WGSL of the split the tensor-core GEMM reads (x-split.wgsl: split_row_exp, split_kt_count, split_word, split_pair),
 * for kernels that write x already split (GemmArgs.xSplit) as they produce it.
 */
export const xSplitWgsl: string = source;
