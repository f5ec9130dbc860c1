// The way out that both subgroup-matrix kernels share. A subgroup has stored one 16 × 16 accumulator row-major at
// stage[base …] (and, for swiglu, the matching up accumulator at base + 256); this writes it to y rows r0 …,
// columns c0 … through gemm-unscale.wgsl, dropping rows and columns past the edge of y. Needs params, stage and
// SUBGROUP.
fn emit_block(base: u32, r0: u32, c0: u32, lane: u32) {
  for (var e = lane; e < 256u; e += SUBGROUP) {
    let r = r0 + e / 16u;
    let c = c0 + e % 16u;
    if (r < params.rows && c < params.n) {
      var u = 0.0;
      if (SWIGLU) {
        u = stage[base + 256u + e];
      }
      store_scaled(r, c, stage[base + e], u);
    }
  }
}
