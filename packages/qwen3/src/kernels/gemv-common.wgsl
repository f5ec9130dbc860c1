// What the decode GEMVs share (gemv.wgsl: lanes along a row, on GPUs; gemv-serial.wgsl: one invocation a row, on CPU
// adapters): y[col0 + c] (+)= Σ_k x[k] · W[c, k] over W in 16-byte words — 8 bf16/f16 or 4 f32 weights a load.
// SWIGLU makes y = silu(x·Wᵀ) ⊙ x·W2ᵀ (gate and up in one pass over x). Weights that matmul's storeAsF16 re-encoded
// (FRAGMENTS: f16 · 2^s in its tensor-core fragments) come with w_scale = 2^-s (exact: a power of two), else 1.
//   x: [k] f32 (as vec4);  W, W2: [n, k] W_DTYPE (as vec4<u32>, k·bytes a multiple of 16);  y: [col0 + n] f32

struct Params {
  n: u32,
  words: u32, // 16-byte words per row of W
  col0: u32,
  w_scale: f32,
  w2_scale: f32,
}

@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> w: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> w2: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

override W_DTYPE: u32 = BF16;
override ACCUMULATE: bool = false;
override SWIGLU: bool = false;
// W (and W2) as matmul's storeAsF16 leaves them: f16 in 16 × 16 tiles (tiled_word, dtypes.wgsl).
override FRAGMENTS: bool = false;

// Index of the 16-byte word i of row col of W (or W2).
fn w_index(col: u32, i: u32) -> u32 {
  if (FRAGMENTS) {
    return tiled_word(col, i, params.words);
  }
  return col * params.words + i;
}

// Σ over word i of a row (16 bytes of weights) times the matching x values (dot_word: dtypes.wgsl).
fn row_word(word: vec4<u32>, i: u32) -> f32 {
  if (W_DTYPE == F32) {
    return dot_word(word, x[i], vec4<f32>(), F32);
  }
  return dot_word(word, x[2u * i], x[2u * i + 1u], W_DTYPE);
}

// y's value at column col before this dispatch (ACCUMULATE), read where the kernel starts: its load then overlaps the
// loads of W instead of following the reduction.
fn prior_column(col: u32) -> f32 {
  if (ACCUMULATE && col < params.n) {
    return y[params.col0 + col];
  }
  return 0.0;
}

// Writes column col of y from its sums with W (s) and W2 (s2); ACCUMULATE adds them to `prior` (prior_column).
fn store_column(col: u32, s: f32, s2: f32, prior: f32) {
  let g = s * params.w_scale;
  var v = g;
  if (SWIGLU) {
    v = g / (1.0 + exp(-g)) * (s2 * params.w2_scale); // silu(gate) · up
  }
  let at = params.col0 + col;
  if (ACCUMULATE) {
    y[at] = prior + v;
  } else {
    y[at] = v;
  }
}
