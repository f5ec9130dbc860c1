// One 16×16×16 f16 → f32 multiply-accumulate, loads and stores from storage: the smallest check that this Dawn
// accepts the builtins' spelling and that row_major / col_major mean what gemm-subgroup-matrix.wgsl assumes.
//   a: [16, 16] f16 row-major;  bt: [16 (n), 16 (k)] f16 (Bᵀ rows = B column-major);  c: [16, 16] f32 row-major
//   c = c + a · B
enable f16;
enable subgroups;
enable chromium_experimental_subgroup_matrix;

struct Params {
  unused: u32,
}

@group(0) @binding(0) var<storage, read> a: array<f16>;
@group(0) @binding(1) var<storage, read> bt: array<f16>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

override SUBGROUP: u32 = 32u;

@compute @workgroup_size(SUBGROUP)
fn main() {
  let l = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&a, 0u, 16u);
  let r = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, col_major>(&bt, 0u, 16u);
  var acc = subgroupMatrixLoad<subgroup_matrix_result<f32, 16, 16>, row_major>(&c, 0u, 16u);
  acc = subgroupMatrixMultiplyAccumulate(l, r, acc);
  subgroupMatrixStore<row_major>(&c, 0u, acc, 16u);
}
