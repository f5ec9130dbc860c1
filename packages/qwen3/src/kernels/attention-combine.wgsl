// Merges flash-decoding partials (the first `live` chunks; later ones are past the causal end): out[t, h, i] = Σ_c acc_c[i] · e^(m_c − M) / Σ_c l_c · e^(m_c − M), M = max_c m_c.
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

@compute @workgroup_size(128)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let row_head = wid.x + wid.y * nwg.x; // t · NH + h
  if (row_head >= params.seq * NH) {
    return;
  }
  let base = row_head * CHUNKS * (HD + 2u);
  let live = min(params.live, CHUNKS);
  var big = -3.0e38;
  for (var c = 0u; c < live; c++) {
    big = max(big, partials[base + c * (HD + 2u) + HD]);
  }
  var total = 0.0;
  for (var c = 0u; c < live; c++) {
    total += partials[base + c * (HD + 2u) + HD + 1u] * exp(partials[base + c * (HD + 2u) + HD] - big);
  }
  for (var i = lid; i < HD; i += 128u) {
    var s = 0.0;
    for (var c = 0u; c < live; c++) {
      s += partials[base + c * (HD + 2u) + i] * exp(partials[base + c * (HD + 2u) + HD] - big);
    }
    out[row_head * HD + i] = s / total;
  }
}
