// QKVRoPE decode (seq = 1), split, kernel 1 of 2: every weight row of q, k and v against x, spread over many
// workgroups (WG / 32 rows each); raw results go straight to their final places in q_out, k_out, v_out.
// Kernel 2 (qkv-normrope.wgsl) then normalizes and rotates q and k in place. Module = common.wgsl + dot.wgsl + this.

override GROUPS: u32 = WG / LANES;
var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let rows = (NH + 2u * NKV) * HD;
  let row = min((wid.x + wid.y * nwg.x) * GROUPS + lid / LANES, rows - 1u);
  let task = row / HD;
  let r = row % HD;
  let lane = lid % LANES;
  partial[lid] = row_dot(task, r, lane);
  workgroupBarrier();
  if (lane == 0u && (wid.x + wid.y * nwg.x) * GROUPS + lid / LANES < rows) {
    var s = 0.0;
    for (var l = 0u; l < LANES; l++) {
      s += partial[lid + l];
    }
    s *= params.w_scale;
    let dst = out_index(task, 0u) + r;
    if (task < NH) {
      q_out[dst] = s;
    } else if (task < NH + NKV) {
      k_out[dst] = s;
    } else {
      v_out[dst] = s;
    }
  }
}
