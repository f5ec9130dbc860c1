// QKVRoPE decode (seq = 1), fused: one workgroup per head task. 32 lanes walk the hidden dimension of a weight row
// (coalesced u32 words, eight in flight), WG / 32 row groups share the head's HD rows; partial sums meet in
// workgroup memory, then the epilogue normalizes, rotates and stores the head. Module = common.wgsl + dot.wgsl +
// this file.

override GROUPS: u32 = WG / LANES;
var<workgroup> partial: array<f32, HD * LANES>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let task = wid.x;
  let lane = lid % LANES;
  for (var r = lid / LANES; r < HD; r += GROUPS) {
    partial[r * LANES + lane] = row_dot(task, r, lane);
  }
  workgroupBarrier();
  for (var r = lid; r < HD; r += WG) {
    var s = 0.0;
    for (var l = 0u; l < LANES; l++) {
      s += partial[r * LANES + l];
    }
    head_out[r] = s * params.w_scale;
  }
  workgroupBarrier();
  epilogue(task, 0u, lid);
}
