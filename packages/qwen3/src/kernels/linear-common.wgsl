// What linear.wgsl (GPUs) and linear-serial.wgsl (CPU adapters) share: y[t, n] (+)= Σ_k x[t, k] · W[n, k].
//   x: [rows, k] f32;  W, W2: [n, k] W_DTYPE (packed u32 words);  y: [rows, y_stride] f32, columns col0 … col0 + n − 1
// ACCUMULATE adds into y (the residual stream) instead of overwriting; SWIGLU makes y = silu(x·Wᵀ) ⊙ x·W2ᵀ (the MLP's
// gate and up in one pass over x).

struct Params {
  rows: u32,
  n: u32,
  k: u32,
  y_stride: u32,
  col0: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<u32>;
@group(0) @binding(2) var<storage, read> w2: array<u32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

override W_DTYPE: u32 = BF16;
override ACCUMULATE: bool = false;
override SWIGLU: bool = false;

// Element e (row-major index) of W, or of W2 when `second`.
fn weight(second: bool, e: u32) -> f32 {
  let idx = select(e >> 1u, e, W_DTYPE == F32);
  var word: u32;
  if (second) {
    word = w2[idx];
  } else {
    word = w[idx];
  }
  if (W_DTYPE == F32) {
    return bitcast<f32>(word);
  }
  return unpack_half(word, e & 1u, W_DTYPE);
}

// Writes output (t, col) from the dot products with W (s) and W2 (s2).
fn store(t: u32, col: u32, s: f32, s2: f32) {
  var v = s;
  if (SWIGLU) {
    v = s / (1.0 + exp(-s)) * s2; // silu(gate) · up
  }
  let at = t * params.y_stride + params.col0 + col;
  if (ACCUMULATE) {
    y[at] += v;
  } else {
    y[at] = v;
  }
}
