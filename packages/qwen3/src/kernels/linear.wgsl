// nn.Linear without bias on GPUs (o_proj, down_proj, lm_head; gate/up with SWIGLU). Module = linear-common.wgsl + this.
// A workgroup computes 8 output columns, one per 32-lane group; lanes stride k, TT token rows at a time, and the
// 32 partial sums meet in workgroup memory.

const LANES: u32 = 32u;
const COLS: u32 = 8u;
const TT: u32 = 4u;

var<workgroup> partial: array<f32, LANES * COLS * TT * 2u>;

@compute @workgroup_size(LANES * COLS)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let lane = lid % LANES;
  let c = lid / LANES;
  let col = (wid.x + wid.y * nwg.x) * COLS + c;
  let n = min(col, params.n - 1u);
  for (var t0 = 0u; t0 < params.rows; t0 += TT) {
    // Zeroed explicitly: a loop-scoped `var` was seen keeping its value across iterations on lavapipe.
    var acc: array<f32, TT>;
    var acc2: array<f32, TT>;
    for (var i = 0u; i < TT; i++) {
      acc[i] = 0.0;
      acc2[i] = 0.0;
    }
    if (W_DTYPE != F32 && (params.k & 1u) == 0u) {
      // Whole u32 words of 16-bit weights (two elements), coalesced across the lanes.
      let words = params.k / 2u;
      for (var wi = lane; wi < words; wi += LANES) {
        let word = w[n * words + wi];
        let lo = unpack_half(word, 0u, W_DTYPE);
        let hi = unpack_half(word, 1u, W_DTYPE);
        var lo2 = 0.0;
        var hi2 = 0.0;
        if (SWIGLU) {
          let word2 = w2[n * words + wi];
          lo2 = unpack_half(word2, 0u, W_DTYPE);
          hi2 = unpack_half(word2, 1u, W_DTYPE);
        }
        for (var i = 0u; i < TT; i++) {
          let t = min(t0 + i, params.rows - 1u);
          let x0 = x[t * params.k + 2u * wi];
          let x1 = x[t * params.k + 2u * wi + 1u];
          acc[i] = fma(x1, hi, fma(x0, lo, acc[i]));
          acc2[i] = fma(x1, hi2, fma(x0, lo2, acc2[i]));
        }
      }
    } else {
      for (var kk = lane; kk < params.k; kk += LANES) {
        let wv = weight(false, n * params.k + kk);
        var wv2 = 0.0;
        if (SWIGLU) {
          wv2 = weight(true, n * params.k + kk);
        }
        for (var i = 0u; i < TT; i++) {
          let t = min(t0 + i, params.rows - 1u);
          let xv = x[t * params.k + kk];
          acc[i] = fma(xv, wv, acc[i]);
          acc2[i] = fma(xv, wv2, acc2[i]);
        }
      }
    }
    for (var i = 0u; i < TT; i++) {
      partial[((c * TT + i) * 2u) * LANES + lane] = acc[i];
      partial[((c * TT + i) * 2u + 1u) * LANES + lane] = acc2[i];
    }
    workgroupBarrier();
    if (lane < TT && col < params.n && t0 + lane < params.rows) {
      var s = 0.0;
      var s2 = 0.0;
      for (var l = 0u; l < LANES; l++) {
        s += partial[((c * TT + lane) * 2u) * LANES + l];
        s2 += partial[((c * TT + lane) * 2u + 1u) * LANES + l];
      }
      store(t0 + lane, col, s, s2);
    }
    workgroupBarrier();
  }
}
