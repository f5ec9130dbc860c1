// The split of a scaled activation x' (|x'| < 2^15, see row-scale.wgsl) into two f16 values, x' ≈ hi + lo:
// hi = x' rounded to f16's 11 significant bits (to nearest even), lo = f16(x' − hi). Both subgroup-matrix kernels
// use it (the inline one per tile, row-scale.wgsl once per row for the presplit one).
// hi is rounded with integer operations: lavapipe was seen folding f32(f16(v)), and even
// unpack2x16float(pack2x16float(v)), back to v, which would leave lo = 0.
fn split_hi(v: f32) -> f32 {
  let bits = bitcast<u32>(v);
  return bitcast<f32>((bits + 0xfffu + ((bits >> 13u) & 1u)) & 0xffffe000u);
}
