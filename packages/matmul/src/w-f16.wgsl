// W (or one part of it) → f16 fragments for the 'f16w' subgroup-matrix kernel, once per call: each weight times the
// tensor's power of two (exact: prepare() checked the range). Module = dtypes + gemm-common.wgsl + this.
//   w: [n, k] W_DTYPE  →  wf: [ceil(n / 16)][kt_count][16 (c)][16 (k)] f16 as u32 pairs, kt_count = 4 · ceil(k / 64),
//   zeros past row n and column k. One invocation per u32. (The kernel's last column tile may read row tiles past
//   these; they only reach columns of y it drops.)

@group(0) @binding(0) var<storage, read> w: array<u32>;
@group(0) @binding(1) var<storage, read> w2: array<u32>;
@group(0) @binding(2) var<storage, read_write> wf: array<u32>;
// Not touched here: gemm-common.wgsl's store_out names it, and weight_pair comes from that module.
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

// Which of w and w2 to convert (w2: swiglu's up projection).
override SECOND: bool = false;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 256u + lid;
  let kt_count = ((params.k + 63u) / 64u) * 4u;
  if (i >= ((params.n + 15u) / 16u) * kt_count * 128u) {
    return;
  }
  let fragment = i / 128u;
  let c = (fragment / kt_count) * 16u + (i % 128u) / 8u;
  let kk = (fragment % kt_count) * 16u + (i % 8u) * 2u;
  let scale = select(params.w_scale, params.w2_scale, SECOND);
  wf[i] = pack2x16float(weight_pair(SECOND, c, kk) * scale);
}
