// Element types as kernels see them (override constants carry the code): f32 arrives as u32 words to bitcast,
// bf16 and f16 as u32 words holding two 16-bit values, low half first. No kernel needs `shader-f16`.
const F32: u32 = 0u;
const BF16: u32 = 1u;
const F16: u32 = 2u;

// Element `half` (0 = low, 1 = high) of a word holding two 16-bit values of `dtype`, widened to f32.
fn unpack_half(word: u32, half: u32, dtype: u32) -> f32 {
  if (dtype == BF16) {
    return bitcast<f32>(select(word << 16u, word & 0xffff0000u, half == 1u));
  }
  let pair = unpack2x16float(word);
  return select(pair.x, pair.y, half == 1u);
}

// Σ of one 16-byte word of weights times the matching x values: 8 halves against xa = x[8i … 8i+3] and
// xb = x[8i+4 … 8i+7], or (F32) 4 floats against xa alone. The GEMVs' inner product.
fn dot_word(word: vec4<u32>, xa: vec4<f32>, xb: vec4<f32>, dtype: u32) -> f32 {
  if (dtype == F32) {
    return dot(bitcast<vec4<f32>>(word), xa);
  }
  if (dtype == BF16) {
    // Low halves are the even elements, high halves the odd ones.
    let even = bitcast<vec4<f32>>(word << vec4<u32>(16u));
    let odd = bitcast<vec4<f32>>(word & vec4<u32>(0xffff0000u));
    return dot(even, vec4<f32>(xa.x, xa.z, xb.x, xb.z)) + dot(odd, vec4<f32>(xa.y, xa.w, xb.y, xb.w));
  }
  let a = vec4<f32>(unpack2x16float(word.x), unpack2x16float(word.y));
  let b = vec4<f32>(unpack2x16float(word.z), unpack2x16float(word.w));
  return dot(a, xa) + dot(b, xb);
}

// 16-bit weights laid out as 16 × 16 tiles ([row / 16][column / 16][16][16], @qwen3-webgpu/matmul's storeAsF16, for
// its tensor cores): the index, in 16-byte words, of word i (halves 8i … 8i + 7) of `row`, rows of `words` words.
// A tile is 32 words, a row of it 2: word i lies in tile (row / 16, i / 2) at row % 16, half i % 2.
fn tiled_word(row: u32, i: u32, words: u32) -> u32 {
  return ((row / 16u) * (words / 2u) + i / 2u) * 32u + (row % 16u) * 2u + (i % 2u);
}
