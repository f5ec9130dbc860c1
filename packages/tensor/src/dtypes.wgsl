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
