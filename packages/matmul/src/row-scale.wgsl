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
// Column pairs an invocation keeps in registers (rows of up to 2 · HELD · WG columns are read once).
const HELD: u32 = 8u;
var<workgroup> partial: array<u32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= params.rows) {
    return; // the tail of a 2-D grid (uniform across the workgroup)
  }
  // Pair p = lid + WG·j holds columns (2p, 2p + 1), the split's padding included. Rows of up to HELD · WG pairs
  // (k ≤ 4096) stay in registers from the max to the split: x is read once.
  let kt_count = split_kt_count(params.k);
  let pairs = kt_count * 8u;
  let held = pairs <= HELD * WG;
  var v: array<vec2<f32>, HELD>;
  // |x| as bits: for non-negative floats the integer order is the numeric order (NaN and inf sort above all).
  var m = 0u;
  if (held) {
    for (var j = 0u; j < HELD; j++) {
      v[j] = load_pair(row, 2u * (lid + j * WG));
      m = max(m, max(bitcast<u32>(v[j].x) & 0x7fffffffu, bitcast<u32>(v[j].y) & 0x7fffffffu));
    }
  } else {
    for (var kk = lid; kk < params.k; kk += WG) {
      m = max(m, bitcast<u32>(x[row * params.k + kk]) & 0x7fffffffu);
    }
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
  for (var j = 0u; j < select(0u, HELD, held); j++) {
    let p = lid + j * WG;
    if (p < pairs) {
      store_pair(row, 2u * p, v[j] * mul, kt_count);
    }
  }
  if (!held) {
    for (var p = lid; p < pairs; p += WG) {
      store_pair(row, 2u * p, load_pair(row, 2u * p) * mul, kt_count);
    }
  }
}

// Columns (kk, kk + 1) of a row, zeros past k (the split's padding).
fn load_pair(row: u32, kk: u32) -> vec2<f32> {
  var v = vec2<f32>(0.0);
  if (kk < params.k) {
    v.x = x[row * params.k + kk];
  }
  if (kk + 1u < params.k) {
    v.y = x[row * params.k + kk + 1u];
  }
  return v;
}

// The hi and lo words of columns (kk, kk + 1), scaled.
fn store_pair(row: u32, kk: u32, v: vec2<f32>, kt_count: u32) {
  let words = split_pair(v);
  let at = split_word(row, kk, kt_count);
  xs[at] = words.x;
  xs[at + 128u] = words.y;
}
