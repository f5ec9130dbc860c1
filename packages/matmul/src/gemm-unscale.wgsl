// The last step of the subgroup-matrix GEMM, wherever its sums end up (subgroup-matrix-epilogue.wgsl, or
// split-k-reduce.wgsl after a k-split): output (r, c) from the raw sums of scaled products, g = Σ x'·W' (and u with
// W2'), divided by the row and weight scales 2^(t_r − s) — powers of two, so exactly — then gemm-common.wgsl's
// store_out. Needs params and row_exp.
fn store_scaled(r: u32, c: u32, g: f32, u: f32) {
  let t = row_exp[r];
  var up = 0.0;
  if (SWIGLU) {
    up = unscale(u, t - log2_of(params.w2_scale));
  }
  store_out(r, c, unscale(g, t - log2_of(params.w_scale)), up);
}

// The exponent of a power of two.
fn log2_of(p: f32) -> i32 {
  return i32((bitcast<u32>(p) >> 23u) & 0xffu) - 127;
}

// v · 2^e, exactly, for |e| ≤ 252 (two ldexp steps, each within f32's exponent range).
fn unscale(v: f32, e: i32) -> f32 {
  let half = e / 2;
  return ldexp(ldexp(v, half), e - half);
}
