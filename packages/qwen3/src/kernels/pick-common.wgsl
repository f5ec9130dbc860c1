// What sample.wgsl and argmax.wgsl share, prepended to both: the penalized logit (../sampling.ts's penalize, kept
// within f32's range), the non-finite test and the order-preserving f32 → u32 key. The including module declares
// `logits`, `seen` and `params` (row_offset, repetition_penalty, presence_penalty).

const F32_MAX: f32 = 0x1.fffffep+127f;

// Inf or NaN, from the bits (WGSL lets implementations assume floats are finite, so comparisons cannot tell).
fn non_finite(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7f800000u) == 0x7f800000u;
}

// Logit i after the repetition and presence penalties (tokens marked in `seen`). l == 0 is spelled out: 0 · ∞
// would be NaN.
fn penalized(i: u32) -> f32 {
  let l = logits[params.row_offset + i];
  if (seen[i] == 0u) {
    return l;
  }
  let r = params.repetition_penalty;
  let scaled = select(select(l * r, 0.0, l == 0.0), l / r, l > 0.0);
  let a = clamp(params.presence_penalty, -F32_MAX, F32_MAX);
  return clamp(clamp(scaled, -F32_MAX, F32_MAX) - a, -F32_MAX, F32_MAX);
}

// Order-preserving map of f32 to u32 (no finite value maps to 0xFFFFFFFF).
fn key(f: f32) -> u32 {
  let b = bitcast<u32>(f);
  return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}
