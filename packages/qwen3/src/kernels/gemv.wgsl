// Decode GEMV (one token row): y[col0 + c] (+)= Σ_k x[k] · W[c, k], reading W as 16-byte words — 8 bf16/f16 or 4 f32
// weights a load — with LANES lanes per output column and ROWS columns per workgroup. Bandwidth-bound: the weights
// are read once, x (k floats) stays in cache. SWIGLU makes y = silu(x·Wᵀ) ⊙ x·W2ᵀ (gate and up in one pass over x).
//   x: [k] f32 (as vec4);  W, W2: [n, k] W_DTYPE (as vec4<u32>, k·bytes a multiple of 16);  y: [col0 + n] f32
// REDUCE_SUBGROUP: the lanes of a column are exactly one subgroup (LANES = the adapter's fixed subgroup size);
// otherwise they meet in workgroup memory.

struct Params {
  n: u32,
  words: u32, // 16-byte words per row of W
  col0: u32,
}

@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> w: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> w2: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

override W_DTYPE: u32 = BF16;
override ACCUMULATE: bool = false;
override SWIGLU: bool = false;
override LANES: u32 = 32u;
override ROWS: u32 = 8u;

var<workgroup> red: array<f32, 512>;

// Σ over one 16-byte word of weights (8 halves or 4 floats) times the matching x values.
fn dot_word(word: vec4<u32>, i: u32) -> f32 {
  if (W_DTYPE == F32) {
    return dot(bitcast<vec4<f32>>(word), x[i]);
  }
  let xa = x[2u * i];
  let xb = x[2u * i + 1u];
  if (W_DTYPE == BF16) {
    // Low halves are the even elements, high halves the odd ones.
    let even = bitcast<vec4<f32>>(word << vec4<u32>(16u));
    let odd = bitcast<vec4<f32>>(word & vec4<u32>(0xffff0000u));
    return dot(even, vec4<f32>(xa.x, xa.z, xb.x, xb.z)) + dot(odd, vec4<f32>(xa.y, xa.w, xb.y, xb.w));
  }
  let a = vec4<f32>(unpack2x16float(word.x), unpack2x16float(word.y));
  let b = vec4<f32>(unpack2x16float(word.z), unpack2x16float(word.w));
  return dot(a, xa) + dot(b, xb);
}

@compute @workgroup_size(LANES * ROWS)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let lane = lid % LANES;
  let r = lid / LANES;
  let col = (wid.x + wid.y * nwg.x) * ROWS + r;
  // Clamped, not returned: every lane must reach the reduction (WGSL uniformity).
  let base = min(col, params.n - 1u) * params.words;
  var s = 0.0;
  var s2 = 0.0;
  for (var i = lane; i < params.words; i += LANES) {
    s += dot_word(w[base + i], i);
    if (SWIGLU) {
      s2 += dot_word(w2[base + i], i);
    }
  }
  s = reduce_lanes(s, lid, lane, 0u);
  if (SWIGLU) {
    s2 = reduce_lanes(s2, lid, lane, LANES * ROWS);
  }
  if (lane == 0u && col < params.n) {
    var v = s;
    if (SWIGLU) {
      v = s / (1.0 + exp(-s)) * s2; // silu(gate) · up
    }
    let at = params.col0 + col;
    if (ACCUMULATE) {
      y[at] += v;
    } else {
      y[at] = v;
    }
  }
}
