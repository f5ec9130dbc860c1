// The end of a k-split GEMM (gemm-subgroup-matrix-presplit.wgsl or gemm.wgsl with SPLIT_K > 1): each of the
// SPLIT_K workgroups of an output tile summed its slice of k into `part`; this adds the slices and writes y, through
// gemm-unscale.wgsl (SCALED: the tensor-core sums are of scaled products) or straight (FMA). One invocation per
// output. Module = dtypes + gemm-common.wgsl + gemm-unscale.wgsl + this.
//   part: [SPLIT_K][rows][n][gate, up (swiglu)] f32, raw sums

@group(0) @binding(0) var<storage, read> w: array<u32>;
@group(0) @binding(1) var<storage, read> w2: array<u32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read> row_exp: array<i32>;
@group(0) @binding(4) var<storage, read> part: array<f32>;
@group(0) @binding(5) var<uniform> params: Params;

override SPLIT_K: u32 = 2u;
// Unscaled sums (FMA): row_exp is bound but not read.
override SCALED: bool = true;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 256u + lid;
  let outputs = params.rows * params.n;
  if (i >= outputs) {
    return;
  }
  let pair = select(1u, 2u, SWIGLU);
  var g = 0.0;
  var u = 0.0;
  for (var s = 0u; s < SPLIT_K; s++) {
    let at = (s * outputs + i) * pair;
    g += part[at];
    if (SWIGLU) {
      u += part[at + 1u];
    }
  }
  if (SCALED) {
    store_scaled(i / params.n, i % params.n, g, u);
  } else {
    store_out(i / params.n, i % params.n, g, u);
  }
}
