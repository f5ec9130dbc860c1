// Sums the LANES lanes that share an output (lane = lid % LANES) through workgroup memory; lane 0 of each group
// gets the sum. The including module declares `override LANES: u32` and `var<workgroup> red: array<f32, N>` with
// N ≥ at + workgroup size. Call from uniform control flow.
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
