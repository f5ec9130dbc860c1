// Decode GEMV (one token row): y[col0 + c] (+)= Σ_k x[k] · W[c, k], reading W as 16-byte words — 8 bf16/f16 or 4 f32
// weights a load — with LANES lanes per output column and ROWS columns per workgroup. Bandwidth-bound: the weights
// are read once and x (k floats) stays in cache, so what matters is bytes in flight: each lane issues UNROLL loads
// before using any, and LANES is chosen (linear.ts) so that even a 1024-column matrix spreads over ~1000 workgroups.
// SWIGLU makes y = silu(x·Wᵀ) ⊙ x·W2ᵀ (gate and up in one pass over x).
//   x: [k] f32 (as vec4);  W, W2: [n, k] W_DTYPE (as vec4<u32>, k·bytes a multiple of 16);  y: [col0 + n] f32
// reduce_lanes (the tensor package's lane-reduce, prepended) sums a column's lanes.

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
const UNROLL: u32 = 4u;

var<workgroup> red: array<f32, 512>;

// Σ over word i of a row (16 bytes of weights) times the matching x values (dot_word: dtypes.wgsl).
fn row_word(word: vec4<u32>, i: u32) -> f32 {
  if (W_DTYPE == F32) {
    return dot_word(word, x[i], vec4<f32>(), F32);
  }
  return dot_word(word, x[2u * i], x[2u * i + 1u], W_DTYPE);
}

@compute @workgroup_size(LANES * ROWS)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let lane = lid % LANES;
  let r = lid / LANES;
  let col = (wid.x + wid.y * nwg.x) * ROWS + r;
  // Clamped, not returned: every lane must reach the reduction (WGSL uniformity).
  let base = min(col, params.n - 1u) * params.words;
  let words = params.words;
  var s = 0.0;
  var s2 = 0.0;
  for (var i0 = lane; i0 < words; i0 += UNROLL * LANES) {
    // UNROLL independent loads first (clamped into the row; the surplus is masked below), then the arithmetic.
    var wa: array<vec4<u32>, UNROLL>;
    var wb: array<vec4<u32>, UNROLL>;
    for (var u = 0u; u < UNROLL; u++) {
      let i = min(i0 + u * LANES, words - 1u);
      wa[u] = w[base + i];
      if (SWIGLU) {
        wb[u] = w2[base + i];
      }
    }
    for (var u = 0u; u < UNROLL; u++) {
      let i = i0 + u * LANES;
      if (i < words) {
        s += row_word(wa[u], i);
        if (SWIGLU) {
          s2 += row_word(wb[u], i);
        }
      }
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
