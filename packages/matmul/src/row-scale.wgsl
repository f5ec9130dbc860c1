// Per-row power-of-two scale for the subgroup-matrix GEMM: row_exp[r] = t such that max_k |x[r, k]| · 2^-t lies in
// [2^14, 2^15) (top of f16's range: room for hi = f16(x'), and lo keeps its bits), 0 for a zero row, clamped to
// ±126 so that 2^-t is an f32 normal. With SPLIT (the presplit kernel) it also splits the scaled row x' = hi + lo
// (x-split.wgsl) into the 16 × 16 f16 fragments that kernel loads straight into subgroup matrices. One workgroup
// per row. Module = this + x-split.wgsl.
//   x: [rows, k] f32  →  row_exp: [rows] i32
//   xs: [ceil(rows / 16)][kt_count][hi, lo][16][16] f16 as u32 pairs, kt_count = 4 · ceil(k / 64); columns
//       k … 16 · kt_count − 1 are zeros (the kernel's last k step reads them); rows past `rows` are not written.

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
  let bits = partial[0];
  var t = 0;
  if (bits != 0u) {
    // Biased exponent of the largest |x| (0 for f32 subnormals, whose largest is below 2^-126).
    let e = i32(bits >> 23u) - 127;
    t = clamp(e - 14, -126, 126);
  }
  if (lid == 0u) {
    row_exp[row] = t;
  }
  if (!SPLIT) {
    return;
  }
  // Pairs of columns (2p, 2p + 1) → one u32 of the hi fragment and one of the lo fragment (128 words each).
  let mul = ldexp(1.0, -t);
  let kt_count = ((params.k + 63u) / 64u) * 4u;
  let row_base = ((row / 16u) * kt_count * 2u) * 128u + (row % 16u) * 8u;
  for (var p = lid; p < kt_count * 8u; p += WG) {
    let kk = 2u * p;
    var v = vec2<f32>(0.0);
    if (kk < params.k) {
      v.x = x[row * params.k + kk] * mul;
    }
    if (kk + 1u < params.k) {
      v.y = x[row * params.k + kk + 1u] * mul;
    }
    let hi = vec2<f32>(split_hi(v.x), split_hi(v.y));
    let at = row_base + (kk / 16u) * 256u + (p % 8u);
    xs[at] = pack2x16float(hi);
    xs[at + 128u] = pack2x16float(v - hi);
  }
}
