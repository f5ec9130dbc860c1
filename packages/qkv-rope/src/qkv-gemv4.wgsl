// QKVRoPE decode (seq = 1), split, kernel 1 of 2, for rows of whole 16-byte words (hidden · bytes a multiple of 16):
// every weight row of q, k and v against x, LANES lanes a row, each lane issuing UNROLL 16-byte loads before using
// any, so the ~8 MB of a 0.6B layer's Q/K/V weights are nearly all in flight at once. Raw results go to their final
// places in q_out, k_out, v_out; kernel 2 (qkv-normrope.wgsl) normalizes and rotates q and k in place.
// Module = the tensor package's lane-reduce + dtypes.wgsl + this (its bindings are common.wgsl's, read as vec4s).

struct Params {
  seq: u32,
  hidden: u32,
  pos0: u32,
  kv_capacity: u32,
  eps: f32,
  w_scale: f32, // multiplies the projections (2^-s for weights stored as f16 times 2^s by matmul's storeAsF16; else 1)
}

@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;      // [hidden] f32
@group(0) @binding(1) var<storage, read> wq: array<vec4<u32>>;     // [NH·HD, hidden] W_DTYPE
@group(0) @binding(2) var<storage, read> wk: array<vec4<u32>>;     // [NKV·HD, hidden] W_DTYPE
@group(0) @binding(3) var<storage, read> wv: array<vec4<u32>>;     // [NKV·HD, hidden] W_DTYPE
@group(0) @binding(4) var<storage, read> q_norm: array<u32>;       // unused here
@group(0) @binding(5) var<storage, read> k_norm: array<u32>;       // unused here
@group(0) @binding(6) var<storage, read> rope: array<vec2<f32>>;   // unused here
@group(0) @binding(7) var<storage, read_write> q_out: array<f32>;  // [NH, HD]
@group(0) @binding(8) var<storage, read_write> k_out: array<f32>;  // [NKV, HD], or cache [NKV, kv_capacity, HD]
@group(0) @binding(9) var<storage, read_write> v_out: array<f32>;  // like k_out
@group(0) @binding(10) var<uniform> params: Params;

override W_DTYPE: u32 = BF16;
override NH: u32 = 16u;
override NKV: u32 = 8u;
override HD: u32 = 128u;
override KV_CACHE: bool = false;
override LANES: u32 = 32u;
// Wq, Wk, Wv as @qwen3-webgpu/matmul's storeAsF16 leaves them: f16 in 16 × 16 tiles (tiled_word, dtypes.wgsl).
override FRAGMENTS: bool = false;
const UNROLL: u32 = 4u;
const WG: u32 = 256u;

var<workgroup> red: array<f32, WG>;

// Index of 16-byte word i of row `row` (of its task's matrix), rows of `words` words.
fn w_index(row: u32, i: u32, words: u32) -> u32 {
  if (FRAGMENTS) {
    return tiled_word(row, i, words);
  }
  return row * words + i;
}

fn weight_word(task: u32, i: u32) -> vec4<u32> {
  if (task < NH) {
    return wq[i];
  }
  if (task < NH + NKV) {
    return wk[i];
  }
  return wv[i];
}


@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let rows = (NH + 2u * NKV) * HD;
  let lane = lid % LANES;
  let row_id = (wid.x + wid.y * nwg.x) * (WG / LANES) + lid / LANES;
  // Clamped, not returned: every lane must reach the reduction (WGSL uniformity).
  let row = min(row_id, rows - 1u);
  let task = row / HD;
  let r = row % HD;
  let head = select(select(task - NH - NKV, task - NH, task < NH + NKV), task, task < NH);
  let words = select(params.hidden / 8u, params.hidden / 4u, W_DTYPE == F32);
  let w_row = head * HD + r;
  var s = 0.0;
  for (var i0 = lane; i0 < words; i0 += UNROLL * LANES) {
    var wa: array<vec4<u32>, UNROLL>;
    for (var u = 0u; u < UNROLL; u++) {
      wa[u] = weight_word(task, w_index(w_row, min(i0 + u * LANES, words - 1u), words));
    }
    for (var u = 0u; u < UNROLL; u++) {
      let i = i0 + u * LANES;
      if (i < words) {
        if (W_DTYPE == F32) {
          s += dot_word(wa[u], x[i], vec4<f32>(), F32);
        } else {
          s += dot_word(wa[u], x[2u * i], x[2u * i + 1u], W_DTYPE);
        }
      }
    }
  }
  s = reduce_lanes(s, lid, lane, 0u) * params.w_scale;
  if (lane == 0u && row_id < rows) {
    if (task < NH) {
      q_out[task * HD + r] = s;
    } else {
      let kv = select(head * HD, (head * params.kv_capacity + params.pos0) * HD, KV_CACHE) + r;
      if (task < NH + NKV) {
        k_out[kv] = s;
      } else {
        v_out[kv] = s;
      }
    }
  }
}
