// Shared by the attention kernels (attention.wgsl: decode and flash-decoding; attention-prefill.wgsl: tiled):
//   q: [seq, NH, HD] f32;  k_cache, v_cache: [NKV, capacity, HD] f32 (qkv-rope's cache layout)
// Query row t sits at position pos0 + t and sees keys 0 … pos0 + t of kv head h / (NH / NKV).

struct Params {
  seq: u32,
  pos0: u32,
  capacity: u32,
  scale: f32,
}

@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k_cache: array<f32>;
@group(0) @binding(2) var<storage, read> v_cache: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

override NH: u32 = 16u;
override NKV: u32 = 8u;
override HD: u32 = 128u;
