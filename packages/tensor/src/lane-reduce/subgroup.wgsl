enable subgroups;
// Sums the LANES lanes that share an output (lane = lid % LANES, LANES a multiple of the adapter's fixed subgroup
// size SG) with subgroupAdd; when a group spans several subgroups their sums meet in workgroup memory. Lane 0 of
// each group gets the sum. Same contract as workgroup.wgsl; assumes subgroups are runs of consecutive local
// invocation indices. Must open the module (`enable`).
override SG: u32 = 32u;

fn reduce_lanes(v: f32, lid: u32, lane: u32, at: u32) -> f32 {
  let s = subgroupAdd(v);
  if (LANES == SG) {
    return s;
  }
  if (lid % SG == 0u) {
    red[at + lid / SG] = s;
  }
  workgroupBarrier();
  var t = 0.0;
  if (lane == 0u) {
    for (var j = 0u; j < LANES / SG; j++) {
      t += red[at + lid / SG + j];
    }
  }
  return t;
}
