// Merges flash-decoding partials (the first `live` chunks; later ones are past the causal end; prompts on flash
// attention merge theirs with attention-flash-merge.wgsl):
//   out[t, h, i] = Σ_c acc_c[i] · e^(m_c − M) / Σ_c l_c · e^(m_c − M),  M = max_c m_c.
// The chunk weights e^(m_c − M) are computed once, in parallel, into workgroup memory; each output dimension then
// sums its column with independent loads (at 8,192 positions a serial chain over the 66 chunks' maxima and sums
// cost ~40 µs per layer).
//   partials: [seq, NH, CHUNKS, HD + 2] f32 (output, max, sum);  out: [seq, NH·HD] f32

// live: the chunks that hold keys; the rest are empty and skipped.
struct Params {
  seq: u32,
  live: u32,
}

@group(0) @binding(0) var<storage, read> partials: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

override NH: u32 = 16u;
override HD: u32 = 128u;
override CHUNKS: u32 = 1u;
const WG: u32 = 128u;

var<workgroup> weight: array<f32, CHUNKS>;
var<workgroup> red: array<f32, WG>;

// Workgroup max or sum of one value per thread; every thread gets it.
fn reduce(v: f32, lid: u32, is_max: bool) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      red[lid] = select(red[lid] + red[lid + s], max(red[lid], red[lid + s]), is_max);
    }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let row_head = min(wid.x + wid.y * nwg.x, params.seq * NH - 1u); // t · NH + h; clamped: barriers below
  let base = row_head * CHUNKS * (HD + 2u);
  let live = min(params.live, CHUNKS);
  var big = -3.0e38;
  for (var c = lid; c < live; c += WG) {
    big = max(big, partials[base + c * (HD + 2u) + HD]);
  }
  big = reduce(big, lid, true);
  var total = 0.0;
  for (var c = lid; c < live; c += WG) {
    let w = exp(partials[base + c * (HD + 2u) + HD] - big);
    weight[c] = w;
    total += partials[base + c * (HD + 2u) + HD + 1u] * w;
  }
  total = reduce(total, lid, false); // its barriers also publish weight[]
  if (wid.x + wid.y * nwg.x >= params.seq * NH) {
    return;
  }
  for (var i = lid; i < HD; i += WG) {
    var s = 0.0;
    for (var c = 0u; c < live; c++) {
      s += partials[base + c * (HD + 2u) + i] * weight[c];
    }
    out[row_head * HD + i] = s / total;
  }
}
