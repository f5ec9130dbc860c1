// Decode GEMV (one token row) on CPU adapters (lavapipe): y[col0 + c] (+)= Σ_k x[k] · W[c, k] (gemv-common.wgsl), one
// invocation per output column walking its row of W in 16-byte words. Invocations are the SIMD lanes of one core
// there, so every load of W is a gather: a 16-byte one per 8 weights costs less than a 4-byte one per 2, and no lane
// reduction is needed (gemv.wgsl with one lane a row measured slower: its workgroup reduction and clamped tail).
// Module = dtypes + gemv-common.wgsl + this.

const COLS: u32 = 64u;

@compute @workgroup_size(COLS)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let col = (wid.x + wid.y * nwg.x) * COLS + lid;
  if (col >= params.n) {
    return;
  }
  var s = 0.0;
  var s2 = 0.0;
  for (var i = 0u; i < params.words; i++) {
    s += row_word(w[w_index(col, i)], i);
    if (SWIGLU) {
      s2 += row_word(w2[w_index(col, i)], i);
    }
  }
  store_column(col, s, s2, prior_column(col));
}
