// nn.Linear without bias on CPU adapters (lavapipe): one invocation per output column walks all of k alone, since a
// workgroup barrier costs far more there than the arithmetic it saves and invocations are SIMD lanes of one core.
// Module = linear-common.wgsl + this.

const COLS: u32 = 64u;

@compute @workgroup_size(COLS)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let col = (wid.x + wid.y * nwg.x) * COLS + lid;
  if (col >= params.n) {
    return;
  }
  let k = params.k;
  for (var t = 0u; t < params.rows; t++) {
    var s = 0.0;
    var s2 = 0.0;
    if (W_DTYPE != F32 && (k & 1u) == 0u) {
      // Whole u32 words of 16-bit weights: two elements a load.
      let words = k / 2u;
      for (var wi = 0u; wi < words; wi++) {
        let word = w[col * words + wi];
        let x0 = x[t * k + 2u * wi];
        let x1 = x[t * k + 2u * wi + 1u];
        s = fma(x1, unpack_half(word, 1u, W_DTYPE), fma(x0, unpack_half(word, 0u, W_DTYPE), s));
        if (SWIGLU) {
          let word2 = w2[col * words + wi];
          s2 = fma(x1, unpack_half(word2, 1u, W_DTYPE), fma(x0, unpack_half(word2, 0u, W_DTYPE), s2));
        }
      }
    } else {
      for (var kk = 0u; kk < k; kk++) {
        let xv = x[t * k + kk];
        s = fma(xv, weight(false, col * k + kk), s);
        if (SWIGLU) {
          s2 = fma(xv, weight(true, col * k + kk), s2);
        }
      }
    }
    store(t, col, s, s2);
  }
}
