// x split for the tensor-core GEMM (@qwen3-webgpu/matmul), shared by what writes it (its row-scale pass; kernels
// that write x already split as they produce a row, GemmArgs.xSplit) and its inline kernel. A row r of x is scaled by 2^-t (t = row_exp[r], split_row_exp) so that
// |x'| < 2^15, and x' ≈ hi + lo, two f16 values (split_hi). Layout of xs, one u32 per pair of halves:
//   xs: [ceil(rows / 16)][kt_count][hi, lo][16 rows][16 columns] f16,  kt_count = split_kt_count(k)
// columns k … 16 · kt_count − 1 hold zeros (the kernels' last k step reads them).

// hi = x' rounded to f16's 11 significant bits (to nearest even), so that lo = f16(x' − hi) keeps the rest.
// Rounded with integer operations: lavapipe was seen folding f32(f16(v)), and even
// unpack2x16float(pack2x16float(v)), back to v, which would leave lo = 0.
fn split_hi(v: f32) -> f32 {
  let bits = bitcast<u32>(v);
  return bitcast<f32>((bits + 0xfffu + ((bits >> 13u) & 1u)) & 0xffffe000u);
}

// 16-column k tiles of a split row: k padded to a multiple of 64 (every k step of the kernels divides it).
fn split_kt_count(k: u32) -> u32 {
  return ((k + 63u) / 64u) * 4u;
}

// The row exponent t from the bits of the row's largest |x| (bitcast<u32>(|x|); NaN and inf sort above every finite
// value): max|x| · 2^-t lies in [2^14, 2^15) (top of f16's range: room for hi, and lo keeps its bits), 0 for a zero
// row, clamped to ±126 so that 2^-t is an f32 normal.
fn split_row_exp(max_bits: u32) -> i32 {
  if (max_bits == 0u) {
    return 0;
  }
  // Biased exponent of the largest |x| (0 for f32 subnormals, whose largest is below 2^-126).
  let e = i32(max_bits >> 23u) - 127;
  return clamp(e - 14, -126, 126);
}

// Index in xs of the u32 holding hi of columns (c, c + 1) of row `row` (c even); lo's word is 128 further.
fn split_word(row: u32, c: u32, kt_count: u32) -> u32 {
  return (row / 16u) * kt_count * 256u + (c / 16u) * 256u + (row % 16u) * 8u + (c % 16u) / 2u;
}

// The two words of columns (c, c + 1) of a row already scaled by 2^-t: hi, then lo.
fn split_pair(v: vec2<f32>) -> vec2<u32> {
  let hi = vec2<f32>(split_hi(v.x), split_hi(v.y));
  return vec2<u32>(pack2x16float(hi), pack2x16float(v - hi));
}
