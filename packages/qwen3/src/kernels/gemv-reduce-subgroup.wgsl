enable subgroups;
// gemv.wgsl's lane reduction when a column's lanes are exactly one subgroup: no workgroup memory, no barrier.
fn reduce_lanes(v: f32, lid: u32, lane: u32, at: u32) -> f32 {
  return subgroupAdd(v);
}
