// The way out that both subgroup-matrix kernels share. A subgroup has stored one 16 × 16 accumulator row-major at
// stage[base …] (and, for swiglu, the matching up accumulator at base + 256); this writes it to y rows r0 …,
// columns c0 … scaled back by 2^(t_r − s) (row and weight scales, both powers of two: exact), dropping rows and
// columns past the edge of y. Needs params, row_exp, stage, SUBGROUP and gemm-common.wgsl's store_out.
fn emit_block(base: u32, r0: u32, c0: u32, lane: u32) {
  for (var e = lane; e < 256u; e += SUBGROUP) {
    let r = r0 + e / 16u;
    let c = c0 + e % 16u;
    if (r < params.rows && c < params.n) {
      let t = row_exp[r];
      let g = unscale(stage[base + e], t - log2_of(params.w_scale));
      var u = 0.0;
      if (SWIGLU) {
        u = unscale(stage[base + 256u + e], t - log2_of(params.w2_scale));
      }
      store_out(r, c, g, u);
    }
  }
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
