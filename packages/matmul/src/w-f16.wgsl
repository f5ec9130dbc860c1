// W (or one part of it) → f16 fragments for the 'f16w' subgroup-matrix kernel, once per call: each weight times the
// tensor's power of two (exact: prepare() checked the range). Module = dtypes + gemm-common.wgsl + this.
//   w: [n, k] W_DTYPE  →  wf: [ceil(n / 16)][kt_count][16 (c)][16 (k)] f16, 8 halves per vec4<u32>,
//   kt_count = 4 · ceil(k / 64), zeros past row n and column k. One invocation per 8 halves (one 16-byte store).
//   (The kernel's last column tile may read row tiles past these; they only reach columns of y it drops.)

@group(0) @binding(0) var<storage, read> w: array<u32>;
@group(0) @binding(1) var<storage, read> w2: array<u32>;
@group(0) @binding(2) var<storage, read_write> wf: array<vec4<u32>>;
// Not touched here: gemm-common.wgsl's store_out names it, and weight_pair comes from that module.
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

// Which of w and w2 to convert (w2: swiglu's up projection).
override SECOND: bool = false;
// 16-bit W with k % 8 == 0: the 8 weights are 4 whole u32 words (aligned), read as they are; else pair by pair
// (weight_pair: odd k, f32 W, bounds per element).
override VEC8: bool = false;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 256u + lid;
  let kt_count = ((params.k + 63u) / 64u) * 4u;
  if (i >= ((params.n + 15u) / 16u) * kt_count * 32u) {
    return;
  }
  // 32 invocations per fragment, 2 per row c of it (halves kk … kk + 7).
  let fragment = i / 32u;
  let c = (fragment / kt_count) * 16u + (i % 32u) / 2u;
  let kk = (fragment % kt_count) * 16u + (i % 2u) * 8u;
  let scale = select(params.w_scale, params.w2_scale, SECOND);
  var out = vec4<u32>(0u);
  if (VEC8) {
    // k % 8 == 0 and kk a multiple of 8: the group lies inside row c or past column k whole.
    if (c < params.n && kk < params.k) {
      let at = (c * params.k + kk) / 2u;
      for (var q = 0u; q < 4u; q++) {
        var word: u32;
        if (SECOND) {
          word = w2[at + q];
        } else {
          word = w[at + q];
        }
        out[q] = pack2x16float(vec2<f32>(unpack_half(word, 0u, W_DTYPE), unpack_half(word, 1u, W_DTYPE)) * scale);
      }
    }
  } else {
    for (var q = 0u; q < 4u; q++) {
      out[q] = pack2x16float(weight_pair(SECOND, c, kk + 2u * q) * scale);
    }
  }
  wf[i] = out;
}
