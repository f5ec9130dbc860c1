// The k split that the presplit and f16w subgroup-matrix kernels share: SPLIT_K workgroups per output tile, each
// summing a slice of the k steps; their raw sums go to `part` and split-k-reduce.wgsl (SCALED) adds them up and
// writes y. SPLIT_K = 1: no split, blocks go straight to y (subgroup-matrix-epilogue.wgsl). Needs params, stage,
// SUBGROUP, SPLIT_K (a const of the tile header) and the binding
//   part: [SPLIT_K][rows][n][gate, up (swiglu)] f32 raw sums (a placeholder without a split).

// Workgroup `linear` of the grid: x = its output tile (index among the tiles), y = its k slice; slice ks comes after
// all tiles of slice ks − 1. y ≥ SPLIT_K marks the tail of a 2-D grid.
fn tile_and_slice(linear: u32, bm: u32, bn: u32) -> vec2<u32> {
  let tiles = ((params.rows + bm - 1u) / bm) * ((params.n + bn - 1u) / bn);
  return vec2<u32>(linear % tiles, linear / tiles);
}

// The k steps [x, y) of slice ks out of `steps` (all of them without a split); a slice past the end is empty.
fn k_slice(ks: u32, steps: u32) -> vec2<u32> {
  let per_slice = (steps + SPLIT_K - 1u) / SPLIT_K;
  let s0 = min(ks * per_slice, steps);
  return vec2<u32>(s0, min(s0 + per_slice, steps));
}

// A staged 16 × 16 block (gate, and up at base + 256) at rows r0 …, columns c0 …: to y, or raw into slice ks of part.
fn emit_tile(base: u32, r0: u32, c0: u32, lane: u32, ks: u32) {
  if (SPLIT_K == 1u) {
    emit_block(base, r0, c0, lane);
  } else {
    emit_part(base, r0, c0, lane, ks);
  }
}

fn emit_part(base: u32, r0: u32, c0: u32, lane: u32, ks: u32) {
  let pair = select(1u, 2u, SWIGLU);
  for (var e = lane; e < 256u; e += SUBGROUP) {
    let r = r0 + e / 16u;
    let c = c0 + e % 16u;
    if (r < params.rows && c < params.n) {
      let at = ((ks * params.rows + r) * params.n + c) * pair;
      part[at] = stage[base + e];
      if (SWIGLU) {
        part[at + 1u] = stage[base + 256u + e];
      }
    }
  }
}
