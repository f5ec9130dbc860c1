// QKVRoPE prefill (seq > 1): a workgroup computes one head task for TM token rows with a shared-memory tiled
// matmul over the hidden dimension (KT columns at a time), then the shared epilogue. Thread (tr = lid / 16,
// cg = lid % 16) accumulates channels cg, cg + 16, … for token rows tr, tr + 16, … (RPT rows).
// The weight tile [HD, KT + 1] lives in head_out during the matmul. Module = common.wgsl + this file.

override KT: u32 = 32u;
override RPT: u32 = TM / 16u;
const MAX_CPT: u32 = 16u; // channels per thread = HD / 16 ≤ 16 (HD ≤ 256)
const MAX_RPT: u32 = 2u;

var<workgroup> x_tile: array<f32, TM * KT>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let tasks = NH + 2u * NKV;
  let linear = wid.x + wid.y * nwg.x;
  let task = linear % tasks;
  let tile = linear / tasks;
  let tr = lid / 16u;
  let cg = lid % 16u;
  let cpt = HD / 16u;
  let hidden = params.hidden;
  let stride = KT + 1u;

  var acc: array<f32, MAX_CPT * MAX_RPT>;
  for (var k0 = 0u; k0 < hidden; k0 += KT) {
    for (var i = lid; i < TM * KT; i += WG) {
      let token = tile * TM + i / KT;
      let k = k0 + i % KT;
      x_tile[i] = select(0.0, x[min(token, params.seq - 1u) * hidden + min(k, hidden - 1u)], token < params.seq && k < hidden);
    }
    for (var i = lid; i < HD * KT; i += WG) {
      let k = k0 + i % KT;
      head_out[(i / KT) * stride + i % KT] = select(0.0, w_elem(task, i / KT, min(k, hidden - 1u)), k < hidden);
    }
    workgroupBarrier();
    for (var kk = 0u; kk < KT; kk++) {
      for (var u = 0u; u < RPT; u++) {
        let xv = x_tile[(tr + 16u * u) * KT + kk];
        for (var j = 0u; j < cpt; j++) {
          acc[u * MAX_CPT + j] = fma(xv, head_out[(cg + 16u * j) * stride + kk], acc[u * MAX_CPT + j]);
        }
      }
    }
    workgroupBarrier();
  }
  for (var u = 0u; u < RPT; u++) {
    for (var j = 0u; j < cpt; j++) {
      head_out[(tr + 16u * u) * HD + cg + 16u * j] = acc[u * MAX_CPT + j] * params.w_scale;
    }
  }
  workgroupBarrier();
  epilogue(task, tile, lid);
}
