// In place: a 16-bit weight tensor W (W_DTYPE, two per u32 word) becomes W · 2^s as f16, each weight exactly
// (store-f16.ts converts only tensors whose range weight-range.wgsl found exact at that scale), so the 'f16w'
// tensor-core GEMM can load its fragments straight from W instead of converting it on every call.
//   w: [words] u32 pairs of W_DTYPE  →  the same words as f16 pairs

struct Params {
  words: u32,
  scale: f32, // 2^s
}

@group(0) @binding(0) var<storage, read_write> w: array<u32>;
@group(0) @binding(1) var<uniform> params: Params;

override W_DTYPE: u32 = BF16;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 256u + lid;
  if (i >= params.words) {
    return;
  }
  let word = w[i];
  w[i] = pack2x16float(vec2<f32>(unpack_half(word, 0u, W_DTYPE), unpack_half(word, 1u, W_DTYPE)) * params.scale);
}
