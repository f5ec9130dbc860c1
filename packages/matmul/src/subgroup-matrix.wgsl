// Tensor-core operations the subgroup-matrix GEMM uses, on Dawn's chromium_experimental_subgroup_matrix (the
// majorness-template spelling of load/store; the boolean col_major form is deprecated). The whole subgroup calls
// each with the same arguments: offsets depend on the subgroup index only, which the workgroup-uniformity analysis
// cannot see, hence the diagnostic is off. subgroup-matrix-emulated.wgsl defines the same names in plain WGSL.
enable f16;
enable subgroups;
enable chromium_experimental_subgroup_matrix;
diagnostic(off, chromium.subgroup_matrix_uniformity);

// subgroup_matrix_left<T, K (columns), M (rows)>, right<T, N, K>, result<T, N, M>: all 16 here.
alias MatLeft = subgroup_matrix_left<f16, 16, 16>;
alias MatRight = subgroup_matrix_right<f16, 16, 16>;
alias MatResult = subgroup_matrix_result<f32, 16, 16>;

fn mat_zero() -> MatResult {
  return MatResult();
}

// 16 × 16 block of split x (hi or lo) at `offset` of xs, rows XS_STRIDE elements apart: a workgroup tile in the
// inline kernel, the pre-split storage array (16 × 16 fragments) in the presplit one.
fn load_left(offset: u32) -> MatLeft {
  return subgroupMatrixLoad<MatLeft, row_major>(&xs, offset, XS_STRIDE);
}

// 16 (k) × 16 (c) block of Wᵀ: ws holds W's rows [c][kk], i.e. Wᵀ column-major with columns AS elements apart.
fn load_right(offset: u32) -> MatRight {
  return subgroupMatrixLoad<MatRight, col_major>(&ws, offset, AS);
}

fn load_right2(offset: u32) -> MatRight {
  return subgroupMatrixLoad<MatRight, col_major>(&ws2, offset, AS);
}

fn mma(a: MatLeft, b: MatRight, c: MatResult) -> MatResult {
  return subgroupMatrixMultiplyAccumulate(a, b, c);
}

// Row-major 16 × 16 into stage at `offset`.
fn store_result(offset: u32, m: MatResult) {
  subgroupMatrixStore<row_major>(&stage, offset, m, 16u);
}
