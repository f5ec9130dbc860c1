// y[t, n] (+)= Σ_k x[t, k] · W[n, k], one invocation per output column walking all of k alone — the layout for CPU
// adapters (lavapipe), where a workgroup barrier costs far more than the arithmetic it saves and invocations are SIMD
// lanes of one core. Same bindings, uniforms and overrides as linear.wgsl (SWIGLU: y = silu(x·Wgᵀ) ⊙ x·Wuᵀ).
//   x: [rows, k] f32;  W, W2: [n, k] W_DTYPE (packed u32 words);  y: [rows, y_stride] f32, columns col0 … col0 + n − 1

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
const COLS: u32 = 64u;

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

@compute @workgroup_size(COLS)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let col = (wid.x + wid.y * nwg.x) * COLS + lid;
  if (col >= params.n) {
    return;
  }
  let k = params.k;
  for (var t = 0u; t < params.rows; t++) {
    var s = 0.0;
    var s2 = 0.0;
    if (W_DTYPE != F32 && (k & 1u) == 0u) {
      // Whole u32 words of 16-bit weights: two elements a load.
      let words = k / 2u;
      for (var wi = 0u; wi < words; wi++) {
        let word = w[col * words + wi];
        let x0 = x[t * k + 2u * wi];
        let x1 = x[t * k + 2u * wi + 1u];
        s = fma(x1, unpack_half(word, 1u, W_DTYPE), fma(x0, unpack_half(word, 0u, W_DTYPE), s));
        if (SWIGLU) {
          let word2 = w2[col * words + wi];
          s2 = fma(x1, unpack_half(word2, 1u, W_DTYPE), fma(x0, unpack_half(word2, 0u, W_DTYPE), s2));
        }
      }
    } else {
      for (var kk = 0u; kk < k; kk++) {
        let xv = x[t * k + kk];
        s = fma(xv, weight(false, col * k + kk), s);
        if (SWIGLU) {
          s2 = fma(xv, weight(true, col * k + kk), s2);
        }
      }
    }
    if (SWIGLU) {
      s = s / (1.0 + exp(-s)) * s2; // silu(gate) · up
    }
    let at = t * params.y_stride + params.col0 + col;
    if (ACCUMULATE) {
      y[at] += s;
    } else {
      y[at] = s;
    }
  }
}
