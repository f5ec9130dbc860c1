// RMSNorm's row reduction through workgroup memory: a tree over the TPR threads of each row.

var<workgroup> partial_s: array<f32, WG>;
var<workgroup> partial_m: array<f32, WG>;

fn reduce_row(p: Stats, lid: u32) -> Stats {
  partial_s[lid] = p.s;
  partial_m[lid] = p.m;
  workgroupBarrier();
  let t = lid % TPR;
  for (var stride = TPR / 2u; stride > 0u; stride >>= 1u) {
    if (t < stride) {
      let c = combine(Stats(partial_s[lid], partial_m[lid]), Stats(partial_s[lid + stride], partial_m[lid + stride]));
      partial_s[lid] = c.s;
      partial_m[lid] = c.m;
    }
    workgroupBarrier();
  }
  let total = Stats(partial_s[lid - t], partial_m[lid - t]);
  // The arrays are reused by a second reduction (rescaled rows): nobody may overwrite them before all have read.
  workgroupBarrier();
  return total;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  rmsnorm(wid.x + wid.y * nwg.x, lid);
}
