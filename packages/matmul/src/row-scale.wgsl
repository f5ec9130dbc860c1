// Per-row power-of-two scale for the subgroup-matrix GEMM: row_exp[r] = t such that max_k |x[r, k]| · 2^-t lies in
// [2^14, 2^15) (top of f16's range: room for hi = f16(x'), and lo keeps its bits), 0 for a zero row, clamped to
// ±126 so that 2^-t is an f32 normal. One workgroup per row.
//   x: [rows, k] f32  →  row_exp: [rows] i32

struct Params {
  rows: u32,
  k: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> row_exp: array<i32>;
@group(0) @binding(2) var<uniform> params: Params;

const WG: u32 = 256u;
var<workgroup> partial: array<u32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= params.rows) {
    return; // the tail of a 2-D grid (uniform across the workgroup)
  }
  // |x| as bits: for non-negative floats the integer order is the numeric order (NaN and inf sort above all).
  var m = 0u;
  for (var kk = lid; kk < params.k; kk += WG) {
    m = max(m, bitcast<u32>(x[row * params.k + kk]) & 0x7fffffffu);
  }
  partial[lid] = m;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) {
      partial[lid] = max(partial[lid], partial[lid + stride]);
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    let bits = partial[0];
    var t = 0;
    if (bits != 0u) {
      // Biased exponent of the largest |x| (0 for f32 subnormals, whose largest is below 2^-126).
      let e = i32(bits >> 23u) - 127;
      t = clamp(e - 14, -126, 126);
    }
    row_exp[row] = t;
  }
}
