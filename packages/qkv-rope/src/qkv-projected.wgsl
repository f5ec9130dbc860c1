// QKVRoPE on projections computed elsewhere (a tensor-core or tiled GEMM): x holds the raw q | k | v rows,
// [seq, (NH + 2·NKV)·HD] f32. LANES threads take one (task, token) row: each lane holds its RoPE pairs (i, i + HD/2)
// in registers, the head's Σx² comes from reduce_lanes (subgroupAdd where the adapter has subgroups), and one
// workgroup barrier shares it — the rows are not staged in workgroup memory. Then QK-norm in f32, RoPE, q out and
// K/V into rows or the cache, as common.wgsl's epilogue does. Grid: (task, token tile of WG / LANES rows).
// Module = lane-reduce (tensor's laneReduceWgsl; the subgroup one opens it) + dtypes + common.wgsl + this file.

override LANES: u32 = 32u;
// Pairs a lane holds: HD / 2 ≤ 128 (headDim ≤ 256) over LANES ≥ 32.
const MAX_PAIRS: u32 = 4u;
// reduce_lanes's scratch [0, WG), then each row's sum of squares.
var<workgroup> red: array<f32, RED_SIZE>;
override RED_SIZE: u32 = WG + WG / LANES;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let task = wid.x; // < NH + 2·NKV
  let lane = lid % LANES;
  let t = lid / LANES;
  let token = wid.y * (WG / LANES) + t;
  let half = HD / 2u;
  // Rows past seq read the last row (their results are dropped) so that every thread joins the reduction.
  let src = min(token, params.seq - 1u) * (NH + 2u * NKV) * HD + task * HD;
  var a: array<f32, MAX_PAIRS>;
  var b: array<f32, MAX_PAIRS>;
  var ss = 0.0;
  for (var m = 0u; m < MAX_PAIRS; m++) {
    let i = lane + m * LANES;
    if (i < half) {
      a[m] = x[src + i];
      b[m] = x[src + i + half];
      ss = fma(a[m], a[m], ss);
      ss = fma(b[m], b[m], ss);
    }
  }
  let total = reduce_lanes(ss, lid, lane, 0u);
  if (lane == 0u) {
    red[WG + t] = total;
  }
  workgroupBarrier();
  if (token >= params.seq) {
    return;
  }
  let base = out_index(task, token);
  let is_v = task >= NH + NKV;
  let is_q = task < NH;
  let inv = 1.0 / sqrt(red[WG + t] / f32(HD) + params.eps);
  let cs_base = (params.pos0 + token) * half;
  for (var m = 0u; m < MAX_PAIRS; m++) {
    let i = lane + m * LANES;
    if (i >= half) {
      break;
    }
    if (is_v) {
      v_out[base + i] = a[m];
      v_out[base + i + half] = b[m];
      continue;
    }
    norm_rope_store(is_q, base, i, a[m], b[m], inv, cs_base);
  }
}
