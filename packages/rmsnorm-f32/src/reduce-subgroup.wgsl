enable subgroups;
// sg_size comes from the subgroup_size builtin, uniform across the subgroup, but it reaches reduce_row through a
// private variable, which the uniformity analysis cannot see through.
diagnostic(off, subgroup_uniformity);
// RMSNorm's row reduction with subgroup shuffles: a butterfly inside each subgroup (or inside each TPR-wide
// segment of it when rows are narrower than a subgroup), then one pass through workgroup memory across the
// subgroups of a row. Works for any subgroup size (8 on lavapipe, 32 on NVIDIA); assumes invocations fill
// subgroups in local_invocation_index order, as 1-D workgroups do on the implementations we test.

var<workgroup> partial_s: array<f32, WG>;
var<workgroup> partial_m: array<f32, WG>;
var<private> sg_size: u32;
// Set by the host when TPR ≤ the adapter's smallest subgroup: the butterfly alone covers a row, no barrier needed.
override SUBGROUP_ONLY: bool = false;

fn reduce_row(p: Stats, lid: u32) -> Stats {
  let width = min(TPR, sg_size);
  var q = p;
  for (var offset = 1u; offset < width; offset <<= 1u) {
    q = combine(q, Stats(subgroupShuffleXor(q.s, offset), subgroupShuffleXor(q.m, offset)));
  }
  if (SUBGROUP_ONLY) {
    return q;
  }
  if (lid % width == 0u) {
    partial_s[lid / width] = q.s;
    partial_m[lid / width] = q.m;
  }
  workgroupBarrier();
  let first = (lid - lid % TPR) / width;
  var total = Stats(partial_s[first], partial_m[first]);
  for (var k = 1u; k < TPR / width; k++) {
    total = combine(total, Stats(partial_s[first + k], partial_m[first + k]));
  }
  // The arrays are reused by a second reduction (rescaled rows): nobody may overwrite them before all have read.
  workgroupBarrier();
  return total;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32, @builtin(subgroup_size) size: u32) {
  sg_size = size;
  rmsnorm(wid.x + wid.y * nwg.x, lid);
}
