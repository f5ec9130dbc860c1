// The tail of rmsnorm-vec4.wgsl that first adds a k-split GEMM's sums into x (RmsNormArgs.addSums: the residual add
// that GEMM would have made in a pass of its own), then normalizes x + sums; with SPLIT it also writes the split
// (rmsnorm-vec4-split-store.wgsl follows; without, xs and row_exp are placeholders never written). x is f32 here.
//   sums: [sums_splits][rows][n] f32 raw sums;  sums_exp: [rows] i32, read where SUMS_SCALED
// x + 2^(sums_exp[r] − sums_shift) · Σ_s sums[s][r][c]: the same additions, in the same order, as matmul's
// split-k-reduce.wgsl followed by its residual add, so x ends bit for bit as it would have.

@group(0) @binding(0) var<storage, read_write> x: array<vec2<u32>>;
@group(0) @binding(3) var<storage, read_write> xs: array<u32>;
@group(0) @binding(4) var<storage, read_write> row_exp: array<i32>;
@group(0) @binding(5) var<storage, read> sums: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read> sums_exp: array<i32>;
@group(0) @binding(7) var<uniform> params: Params;

override SPLIT: bool = false;
// The sums are of scaled products (the tensor-core GEMM): 2^(sums_exp[r] − sums_shift) divides the scale out.
override SUMS_SCALED: bool = false;
const ADD: bool = true;

// The sums of unit j of row r, scaled.
fn unit_sums(r: u32, j: u32) -> vec4<f32> {
  let units = params.n / 4u;
  let at = r * units + j;
  var g = vec4<f32>(0.0);
  for (var s = 0u; s < params.sums_splits; s++) {
    g += sums[(s * params.rows) * units + at];
  }
  if (SUMS_SCALED) {
    // Two ldexp steps, each within f32's exponent range: exact for |e| ≤ 252.
    let e = sums_exp[r] - params.sums_shift;
    let half = e / 2;
    g = ldexp(ldexp(g, vec4<i32>(half)), vec4<i32>(e - half));
  }
  return g;
}

// Unit j (raw bits v) plus its sums g, written back to x; returns the new unit's bits.
fn add_unit(x_base: u32, j: u32, v: vec4<u32>, g: vec4<f32>) -> vec4<u32> {
  let bits = bitcast<vec4<u32>>(bitcast<vec4<f32>>(v) + g);
  x[x_base + 2u * j] = bits.xy;
  x[x_base + 2u * j + 1u] = bits.zw;
  return bits;
}
