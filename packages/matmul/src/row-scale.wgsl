// Per-row power-of-two scale for the subgroup-matrix GEMM: row_exp[r] = t (x-split.wgsl's split_row_exp of the row's
// largest |x|). With SPLIT (the presplit and f16w kernels) it also splits the scaled row x' = hi + lo into the
// 16 × 16 f16 fragments those kernels load straight into subgroup matrices (x-split.wgsl's layout). One workgroup
// per row. Module = x-split.wgsl + this.
//   x: [rows, k] f32  →  row_exp: [rows] i32;  xs: x-split.wgsl's layout (rows past `rows` are not written)

struct Params {
  rows: u32,
  k: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> row_exp: array<i32>;
@group(0) @binding(2) var<storage, read_write> xs: array<u32>;
@group(0) @binding(3) var<uniform> params: Params;

override SPLIT: bool = false;

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
  let t = split_row_exp(partial[0]);
  if (lid == 0u) {
    row_exp[row] = t;
  }
  if (!SPLIT) {
    return;
  }
  // Pairs of columns (2p, 2p + 1) → one u32 of the hi fragment and one of the lo fragment.
  let mul = ldexp(1.0, -t);
  let kt_count = split_kt_count(params.k);
  for (var p = lid; p < kt_count * 8u; p += WG) {
    let kk = 2u * p;
    var v = vec2<f32>(0.0);
    if (kk < params.k) {
      v.x = x[row * params.k + kk] * mul;
    }
    if (kk + 1u < params.k) {
      v.y = x[row * params.k + kk + 1u] * mul;
    }
    let words = split_pair(v);
    let at = split_word(row, kk, kt_count);
    xs[at] = words.x;
    xs[at + 128u] = words.y;
  }
}
