// Merges the key splits of flash-attention prefill (attention-flash.wgsl's partials), one query row per workgroup
// with all its heads: out[t, h, i] = Σ_c acc_c[i] · e^(m_c − M) / Σ_c l_c · e^(m_c − M), M = max_c m_c, over the
// splits row t (at position pos0 + t) can see; then emit_split: attention-flash-merge-split.wgsl also writes the row
// as the tensor-core GEMM reads it (o_proj's GemmArgs.xSplit), so no row-scale pass follows (the whole row is here:
// its largest |out| sets its exponent); without it emit_split is an empty stand-in.
//   partials: [seq, NH, CHUNKS, HD + 2] f32 (output, max, sum);  out: [seq, NH·HD] f32
// Module = x-split.wgsl + a header of consts NH, HD, CHUNKS and PPT (column pairs per invocation, the split's
// padding included: ceil(split_kt_count(NH·HD) · 8 / WG); they stay in registers between merge and split) + this +
// attention-flash-merge-split.wgsl or the stand-in.

struct Params {
  seq: u32,
  splits: u32,
  pos0: u32,
  keys_per_split: u32,
}

@group(0) @binding(0) var<storage, read> partials: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<vec2<f32>>;
// params: the binding after the storage ones, declared with emit_split (2 here, 4 with the split).

const WG: u32 = 256u;
const PAIRS: u32 = NH * HD / 2u;
// Per (head, split): e^(m_c − M); per head: Σ_c l_c · e^(m_c − M).
var<workgroup> weight: array<f32, NH * CHUNKS>;
var<workgroup> total: array<f32, NH>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let t = wid.x + wid.y * nwg.x;
  if (t >= params.seq) {
    return; // the tail of a 2-D grid (uniform across the workgroup)
  }
  let live = min(params.splits, (params.pos0 + t) / params.keys_per_split + 1u);
  for (var h = lid; h < NH; h += WG) {
    let base = (t * NH + h) * CHUNKS * (HD + 2u) + HD;
    var big = -3.0e38;
    for (var c = 0u; c < live; c++) {
      big = max(big, partials[base + c * (HD + 2u)]);
    }
    var sum = 0.0;
    for (var c = 0u; c < live; c++) {
      let w = exp(partials[base + c * (HD + 2u)] - big);
      weight[h * CHUNKS + c] = w;
      sum += partials[base + c * (HD + 2u) + 1u] * w;
    }
    total[h] = sum;
  }
  workgroupBarrier();
  // Pair p = lid + WG·j: columns 2p, 2p + 1 of the row (one head: HD is even); m: the largest |value| as bits (NaN
  // and inf sort above every finite value).
  var v: array<vec2<f32>, PPT>;
  var m = 0u;
  for (var j = 0u; j < PPT; j++) {
    let p = lid + j * WG;
    if (p < PAIRS) {
      let h = 2u * p / HD;
      let base = (t * NH + h) * CHUNKS * (HD + 2u) + (2u * p) % HD;
      var s = vec2<f32>(0.0);
      for (var c = 0u; c < live; c++) {
        let at = base + c * (HD + 2u);
        s += vec2<f32>(partials[at], partials[at + 1u]) * weight[h * CHUNKS + c];
      }
      v[j] = s / total[h];
      out[t * PAIRS + p] = v[j];
      m = max(m, max(bitcast<u32>(abs(v[j].x)), bitcast<u32>(abs(v[j].y))));
    }
  }
  emit_split(t, lid, v, m);
}
