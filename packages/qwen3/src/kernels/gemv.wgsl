// Decode GEMV (one token row) on GPUs: y[col0 + c] (+)= Σ_k x[k] · W[c, k] (gemv-common.wgsl) with LANES lanes per
// output column and ROWS columns per workgroup. Bandwidth-bound: the weights are read once and x (k floats) stays in
// cache, so what matters is bytes in flight: each lane issues UNROLL loads before using any, and LANES is chosen
// (linear.ts) so that even a 1024-column matrix spreads over ~1000 workgroups.
// Module = the tensor package's lane-reduce (reduce_lanes sums a column's lanes) + dtypes + gemv-common.wgsl + this.

override LANES: u32 = 32u;
override ROWS: u32 = 8u;
const UNROLL: u32 = 4u;

var<workgroup> red: array<f32, 512>;

@compute @workgroup_size(LANES * ROWS)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let lane = lid % LANES;
  let r = lid / LANES;
  let col = (wid.x + wid.y * nwg.x) * ROWS + r;
  // Clamped, not returned: every lane must reach the reduction (WGSL uniformity).
  let row = min(col, params.n - 1u);
  let words = params.words;
  var prior = 0.0;
  if (lane == 0u) {
    prior = prior_column(col);
  }
  var s = 0.0;
  var s2 = 0.0;
  for (var i0 = lane; i0 < words; i0 += UNROLL * LANES) {
    // UNROLL independent loads first (clamped into the row; the surplus is masked below), then the arithmetic.
    var wa: array<vec4<u32>, UNROLL>;
    var wb: array<vec4<u32>, UNROLL>;
    for (var u = 0u; u < UNROLL; u++) {
      let i = min(i0 + u * LANES, words - 1u);
      wa[u] = w[w_index(row, i)];
      if (SWIGLU) {
        wb[u] = w2[w_index(row, i)];
      }
    }
    for (var u = 0u; u < UNROLL; u++) {
      let i = i0 + u * LANES;
      if (i < words) {
        s += row_word(wa[u], i);
        if (SWIGLU) {
          s2 += row_word(wb[u], i);
        }
      }
    }
  }
  s = reduce_lanes(s, lid, lane, 0u);
  if (SWIGLU) {
    s2 = reduce_lanes(s2, lid, lane, LANES * ROWS);
  }
  if (lane == 0u && col < params.n) {
    store_column(col, s, s2, prior);
  }
}
