// What gemm.wgsl (f32 FMA) and gemm-subgroup-matrix.wgsl (tensor cores) share: y[r, col0 + c] (+)= Σ_k x[r, k] · W[c, k]
//   x: [rows, k] f32;  W, W2: [n, k] W_DTYPE (packed u32 words);  y: [rows, y_stride] f32, columns col0 … col0 + n − 1
// ACCUMULATE adds into y (the residual stream); SWIGLU makes y = silu(x·Wᵀ) ⊙ x·W2ᵀ (the MLP's gate and up in one
// pass over x). The tile geometry comes as `const` declarations before this module (gemm.ts, tileHeader): sizes of
// function-scope arrays must be const-expressions, which override constants are not.

struct Params {
  rows: u32,
  n: u32,
  k: u32,
  y_stride: u32,
  col0: u32,
  // The subgroup-matrix kernel keeps W · w_scale (a power of two, chosen per tensor so that every weight is an
  // exact f16 normal) and divides it out at the end; 1 on the FMA path.
  w_scale: f32,
  w2_scale: f32,
}

override W_DTYPE: u32 = BF16;
override ACCUMULATE: bool = false;
override SWIGLU: bool = false;

// Where workgroup `tile` (its index in the grid) puts its bm × bn block of y: (r0, c0). Consecutive workgroups walk
// down the rows of one column tile, so a tile of W is read from memory about once; c0 ≥ n marks the tail of a 2-D grid.
fn tile_origin(tile: u32, bm: u32, bn: u32) -> vec2<u32> {
  let tiles_m = (params.rows + bm - 1u) / bm;
  return vec2<u32>((tile % tiles_m) * bm, (tile / tiles_m) * bn);
}

// Elements (c, kk) and (c, kk + 1) of W (or W2 when `second`), widened to f32; zero outside [n, k].
fn weight_pair(second: bool, c: u32, kk: u32) -> vec2<f32> {
  if (c >= params.n || kk >= params.k) {
    return vec2<f32>(0.0);
  }
  let e = c * params.k + kk;
  if (W_DTYPE != F32 && (params.k & 1u) == 0u) {
    // Even k: the pair is one whole u32 word.
    var word: u32;
    if (second) {
      word = w2[e >> 1u];
    } else {
      word = w[e >> 1u];
    }
    return vec2<f32>(unpack_half(word, 0u, W_DTYPE), unpack_half(word, 1u, W_DTYPE));
  }
  var p = vec2<f32>(weight_at(second, e), 0.0);
  if (kk + 1u < params.k) {
    p.y = weight_at(second, e + 1u);
  }
  return p;
}

// Element e (row-major index) of W, or of W2 when `second`.
fn weight_at(second: bool, e: u32) -> f32 {
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

// Writes output (r, c) from the dot products with W (g) and W2 (u).
fn store_out(r: u32, c: u32, g: f32, u: f32) {
  var v = g;
  if (SWIGLU) {
    v = g / (1.0 + exp(-g)) * u; // silu(gate) · up
  }
  let at = r * params.y_stride + params.col0 + c;
  if (ACCUMULATE) {
    y[at] += v;
  } else {
    y[at] = v;
  }
}
