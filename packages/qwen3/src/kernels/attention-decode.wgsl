// Flash-decoding for one query row (a decode step), by KV head: a workgroup takes one chunk of CHUNK keys of kv head
// g for all G = NH / NKV query heads that share it, so K and V are read once per group, not once per query head.
//   1. scores: each subgroup takes keys j ≡ its index (mod subgroups); its lanes read the key as vec4s (one 16-byte
//      load per lane for head_dim 128), dot it with every head's q, and subgroupAdd;
//   2. per head: the chunk's max m and weights p_j = e^(s_j − m), sum l;
//   3. values: thread t owns vec4 column t mod HD/4 for keys j ≡ t div HD/4, for all G heads; slices meet in
//      workgroup memory.
// Writes the same partials as attention.wgsl with SPLIT, so attention-combine.wgsl merges the chunks.
//   q: [1, NH, HD] f32;  k_cache, v_cache: [NKV, capacity, HD] f32 (read as vec4);  out: [1, NH, CHUNKS, HD + 2]
// Module = `enable subgroups;` + reduce-f32.wgsl + this. Bindings as in attention-common.wgsl, K and V read as vec4.

struct Params {
  seq: u32,
  pos0: u32,
  capacity: u32,
  scale: f32,
}

@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k_cache: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> v_cache: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

override NH: u32 = 16u;
override NKV: u32 = 8u;
override HD: u32 = 128u;
const WG: u32 = 256u;
override CHUNK: u32 = 128u;
override CHUNKS: u32 = 1u;
override SG: u32 = 32u;
override G: u32 = NH / NKV;
override D4: u32 = HD / 4u;         // vec4 columns of a head
override SLICES: u32 = WG / D4;     // key slices of phase 3

var<workgroup> qs: array<vec4<f32>, G * D4>;
var<workgroup> p: array<f32, G * CHUNK>;
var<workgroup> parts: array<vec4<f32>, WG * G>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let index = wid.x + wid.y * nwg.x;
  let g = min(index / CHUNKS, NKV - 1u);
  let chunk = index % CHUNKS;
  let all_keys = params.pos0 + 1u;
  let first = min(chunk * CHUNK, all_keys);
  let n = min(first + CHUNK, all_keys) - first; // keys of this chunk (0 past the causal end)
  let row0 = g * params.capacity + first;

  for (var i = lid; i < G * D4; i += WG) {
    let h = g * G + i / D4;
    let c = i % D4;
    let at = h * HD + 4u * c;
    qs[i] = vec4<f32>(q[at], q[at + 1u], q[at + 2u], q[at + 3u]);
  }
  workgroupBarrier();

  // 1. Scores. Every subgroup runs the same trip count (keys masked past n) so subgroupAdd stays uniform.
  let sg = lid / SG;
  let lane = lid % SG;
  for (var j0 = 0u; j0 < CHUNK; j0 += WG / SG) {
    let j = j0 + sg;
    let row = g * params.capacity + min(first + j, all_keys - 1u); // masked past n; stays inside head g
    var d: array<f32, 8>;
    for (var h = 0u; h < G; h++) {
      d[h] = 0.0;
    }
    for (var c = lane; c < D4; c += SG) {
      let k = k_cache[row * D4 + c];
      for (var h = 0u; h < G; h++) {
        d[h] += dot(qs[h * D4 + c], k);
      }
    }
    for (var h = 0u; h < G; h++) {
      let s = subgroupAdd(d[h]);
      if (lane == 0u && j < CHUNK) {
        p[h * CHUNK + j] = select(-3.0e38, s * params.scale, j < n);
      }
    }
  }
  workgroupBarrier();

  // 2. Per head: max, weights, sum (CHUNK ≤ WG: one key per thread).
  var m: array<f32, 8>;
  var l: array<f32, 8>;
  for (var h = 0u; h < G; h++) {
    let s = select(-3.0e38, p[h * CHUNK + min(lid, CHUNK - 1u)], lid < n);
    m[h] = reduce_f(s, lid, true);
    let e = select(0.0, exp(s - m[h]), lid < n);
    if (lid < CHUNK) {
      p[h * CHUNK + lid] = e;
    }
    l[h] = reduce_f(e, lid, false); // its barriers also publish p[]
  }

  // 3. Values: column c of keys j ≡ slice (mod SLICES), every head at once.
  let c = lid % D4;
  let slice = lid / D4;
  var acc: array<vec4<f32>, 8>;
  for (var h = 0u; h < G; h++) {
    acc[h] = vec4<f32>();
  }
  if (slice < SLICES) {
    for (var j = slice; j < n; j += SLICES) {
      let v = v_cache[(row0 + j) * D4 + c];
      for (var h = 0u; h < G; h++) {
        acc[h] += p[h * CHUNK + j] * v;
      }
    }
  }
  for (var h = 0u; h < G; h++) {
    parts[h * WG + lid] = acc[h];
  }
  workgroupBarrier();
  if (lid < D4) {
    for (var h = 0u; h < G; h++) {
      var sum = vec4<f32>();
      for (var s = 0u; s < SLICES; s++) {
        sum += parts[h * WG + s * D4 + lid];
      }
      let base = ((g * G + h) * CHUNKS + chunk) * (HD + 2u);
      out[base + 4u * lid] = sum.x;
      out[base + 4u * lid + 1u] = sum.y;
      out[base + 4u * lid + 2u] = sum.z;
      out[base + 4u * lid + 3u] = sum.w;
      if (lid == 0u) {
        out[base + HD] = m[h];
        out[base + HD + 1u] = l[h];
      }
    }
  }
}
