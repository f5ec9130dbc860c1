// out[0] = argmax_i logits[row_offset + i] over n entries (the lowest index among equal maxima), one workgroup:
// greedy decoding returns one u32 to the host instead of the whole vocabulary.

struct Params {
  n: u32,
  row_offset: u32,
}

@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@group(0) @binding(2) var<uniform> params: Params;

const WG: u32 = 256u;
var<workgroup> best_v: array<f32, WG>;
var<workgroup> best_i: array<u32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  var v = -3.4e38;
  var idx = 0xffffffffu;
  for (var i = lid; i < params.n; i += WG) {
    let x = logits[params.row_offset + i];
    if (x > v) {
      v = x;
      idx = i;
    }
  }
  best_v[lid] = v;
  best_i[lid] = idx;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      let ov = best_v[lid + s];
      let oi = best_i[lid + s];
      if (ov > best_v[lid] || (ov == best_v[lid] && oi < best_i[lid])) {
        best_v[lid] = ov;
        best_i[lid] = oi;
      }
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    out[0] = best_i[0];
  }
}
