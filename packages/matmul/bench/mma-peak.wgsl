// The tensor-core ceiling from WGSL: each subgroup chains 16×16×16 f16 → f32 multiply-accumulates on register-held
// operands, 8 independent accumulators deep, with no memory traffic in the loop. FLOPs = 2·16³ per call.
enable f16;
enable subgroups;
enable chromium_experimental_subgroup_matrix;
diagnostic(off, chromium.subgroup_matrix_uniformity);

alias MatLeft = subgroup_matrix_left<f16, 16, 16>;
alias MatRight = subgroup_matrix_right<f16, 16, 16>;
alias MatResult = subgroup_matrix_result<f32, 16, 16>;

struct Params {
  iters: u32,
}

@group(0) @binding(0) var<storage, read> src: array<f16>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

override THREADS: u32 = 128u;
override SUBGROUP: u32 = 32u;

@compute @workgroup_size(THREADS)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let a = subgroupMatrixLoad<MatLeft, row_major>(&src, 0u, 16u);
  let b = subgroupMatrixLoad<MatRight, col_major>(&src, 256u, 16u);
  var c0 = MatResult();
  var c1 = MatResult();
  var c2 = MatResult();
  var c3 = MatResult();
  var c4 = MatResult();
  var c5 = MatResult();
  var c6 = MatResult();
  var c7 = MatResult();
  for (var i = 0u; i < params.iters; i++) {
    c0 = subgroupMatrixMultiplyAccumulate(a, b, c0);
    c1 = subgroupMatrixMultiplyAccumulate(a, b, c1);
    c2 = subgroupMatrixMultiplyAccumulate(a, b, c2);
    c3 = subgroupMatrixMultiplyAccumulate(a, b, c3);
    c4 = subgroupMatrixMultiplyAccumulate(a, b, c4);
    c5 = subgroupMatrixMultiplyAccumulate(a, b, c5);
    c6 = subgroupMatrixMultiplyAccumulate(a, b, c6);
    c7 = subgroupMatrixMultiplyAccumulate(a, b, c7);
  }
  // Every accumulator is stored, so none of the chains is dead code.
  let base = (wid.x * (THREADS / SUBGROUP) + lid / SUBGROUP) * 8u * 256u;
  subgroupMatrixStore<row_major>(&dst, base, c0, 16u);
  subgroupMatrixStore<row_major>(&dst, base + 256u, c1, 16u);
  subgroupMatrixStore<row_major>(&dst, base + 512u, c2, 16u);
  subgroupMatrixStore<row_major>(&dst, base + 768u, c3, 16u);
  subgroupMatrixStore<row_major>(&dst, base + 1024u, c4, 16u);
  subgroupMatrixStore<row_major>(&dst, base + 1280u, c5, 16u);
  subgroupMatrixStore<row_major>(&dst, base + 1536u, c6, 16u);
  subgroupMatrixStore<row_major>(&dst, base + 1792u, c7, 16u);
}
