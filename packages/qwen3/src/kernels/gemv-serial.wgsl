// Decode GEMV (one token row) on CPU adapters (lavapipe): one invocation per output column walks its row of W in
// 16-byte words (8 bf16/f16 or 4 f32 weights a load) against x read as vec4s. Invocations are the SIMD lanes of one
// core there, so every load of W is a gather: a 16-byte one per 8 weights costs less than a 4-byte one per 2.
//   x: [k] f32 (as vec4);  W, W2: [n, k] W_DTYPE (as vec4<u32>, k·bytes a multiple of 16);  y: [col0 + n] f32

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
const COLS: u32 = 64u;

@compute @workgroup_size(COLS)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let col = (wid.x + wid.y * nwg.x) * COLS + lid;
  if (col >= params.n) {
    return;
  }
  let base = col * params.words;
  var s = 0.0;
  var s2 = 0.0;
  for (var i = 0u; i < params.words; i++) {
    var xa: vec4<f32>;
    var xb: vec4<f32>;
    if (W_DTYPE == F32) {
      xa = x[i];
    } else {
      xa = x[2u * i];
      xb = x[2u * i + 1u];
    }
    s += dot_word(w[base + i], xa, xb, W_DTYPE);
    if (SWIGLU) {
      s2 += dot_word(w2[base + i], xa, xb, W_DTYPE);
    }
  }
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
