// gemv.wgsl's lane reduction through workgroup memory (any subgroup size): lane 0 of each column gets the sum.
fn reduce_lanes(v: f32, lid: u32, lane: u32, at: u32) -> f32 {
  red[at + lid] = v;
  workgroupBarrier();
  for (var off = LANES / 2u; off > 0u; off >>= 1u) {
    if (lane < off) {
      red[at + lid] += red[at + lid + off];
    }
    workgroupBarrier();
  }
  return red[at + lid];
}
