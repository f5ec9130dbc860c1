// Flash-decoding for one query row (a decode step), by KV head: a workgroup takes one chunk of CHUNK keys of kv head
// g for all G = NH / NKV query heads that share it, so K and V are read once per group, not once per query head.
//   1. scores: each subgroup takes keys j ≡ its index (mod subgroups); its lanes read the key as vec4s (one 16-byte
//      load per lane for head_dim 128), dot it with every head's q, and subgroupAdd;
//   2. per head: the chunk's max m and weights p_j = e^(s_j − m), sum l;
//   3. values: thread t owns vec4 column t mod HD/4 for keys j ≡ t div HD/4, for all G heads; slices meet in
//      workgroup memory.
// Writes the same partials as attention.wgsl with SPLIT, so attention-combine.wgsl merges the chunks; with DIRECT
// (CHUNKS = 1, one chunk of CHUNK keys holds them all) it writes the output itself, o / l — what the combine makes of
// one chunk — and no combine follows: a dispatch fewer per layer for steps at short contexts.
// NORM_ROPE: q and the new key arrive raw (qkv-rope's 'decode-projection' path) and Qwen3's QK-norm (RMSNorm over
// head_dim in f32, times q_norm / k_norm) and RoPE (rotate_half, cos/sin from the host's f64 table) happen here:
// every workgroup normalizes its group's q heads, and the one whose chunk holds position pos0 normalizes that key
// and writes it back to the cache — one dispatch per layer fewer than a separate norm + RoPE pass.
//   q: [1, NH, HD] f32;  k_cache, v_cache: [NKV, capacity, HD] f32 (read as vec4);
//   out: [1, NH, CHUNKS, HD + 2] partials, or with DIRECT [1, NH·HD]
// Module = `enable subgroups;` + dtypes.wgsl + this. K and V read as vec4.

struct Params {
  seq: u32,
  pos0: u32,
  capacity: u32,
  scale: f32,
  eps: f32,
}

@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read_write> k_cache: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> v_cache: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read> q_norm: array<u32>;       // [HD] N_DTYPE (NORM_ROPE)
@group(0) @binding(5) var<storage, read> k_norm: array<u32>;       // [HD] N_DTYPE (NORM_ROPE)
@group(0) @binding(6) var<storage, read> rope: array<vec2<f32>>;   // [positions, HD/2] (cos, sin) (NORM_ROPE)
@group(0) @binding(7) var<uniform> params: Params;

override NORM_ROPE: bool = false;
override DIRECT: bool = false;
override N_DTYPE: u32 = BF16;

override NH: u32 = 16u;
override NKV: u32 = 8u;
override HD: u32 = 128u;
// Threads a workgroup: 256, or 512 for direct steps where the adapter allows (only NKV workgroups run there, so
// each keeps twice the keys' loads in flight; H200: a step's pass at 236 positions 1.70 ms instead of 1.94).
override WG: u32 = 256u;
override CHUNK: u32 = 128u;
override CHUNKS: u32 = 1u;
override SG: u32 = 32u;
override G: u32 = NH / NKV;
override D4: u32 = HD / 4u;         // vec4 columns of a head
override SLICES: u32 = WG / D4;     // key slices of phase 3
// Keys whose loads a thread issues together in phases 1 and 3 (H200, 8,192 cached positions: 4 lost a fifth of the
// decode rate to register pressure, 2 measured best, 1 is the serial loop).
const KU: u32 = 2u;

var<workgroup> qs: array<vec4<f32>, G * D4>;
var<workgroup> p: array<f32, G * CHUNK>;
var<workgroup> parts: array<vec4<f32>, WG * G>;
var<workgroup> sg_red: array<f32, G * WG / SG>; // [head][subgroup]
var<workgroup> heads: array<f32, (G + 1u) * HD>;

fn norm_weight(is_q: bool, i: u32) -> f32 {
  let idx = select(i >> 1u, i, N_DTYPE == F32);
  let word = select(k_norm[idx], q_norm[idx], is_q);
  if (N_DTYPE == F32) {
    return bitcast<f32>(word);
  }
  return unpack_half(word, i & 1u, N_DTYPE);
}

// Qwen3's QK-norm + RoPE of the G raw q heads (into qs) and, where has_key, the raw new key (back into the cache row
// key_row), held in heads[] ([G + 1][HD], the key last): a subgroup a head, all heads at once, rounds of WG / SG
// heads; the sum of squares meets through subgroupAdd (control flow uniform: a subgroup without a head this round
// adds zeros and stores nothing). RMSNorm over head_dim in f32, times q_norm / k_norm, then rotate_half at pos0.
fn norm_rope_heads(has_key: bool, key_row: u32, lid: u32) {
  let half = HD / 2u;
  let lane = lid % SG;
  let count = select(G, G + 1u, has_key);
  for (var h0 = 0u; h0 < G + 1u; h0 += WG / SG) {
    let h = h0 + lid / SG;
    let live = h < count;
    let at = min(h, G) * HD;
    var ss = 0.0;
    for (var e = lane; e < HD; e += SG) {
      let v = select(0.0, heads[at + e], live);
      ss += v * v;
    }
    let inv = 1.0 / sqrt(subgroupAdd(ss) / f32(HD) + params.eps);
    if (live) {
      let is_q = h < G;
      for (var i = lane; i < half; i += SG) {
        let a = heads[at + i] * inv * norm_weight(is_q, i);
        let b = heads[at + i + half] * inv * norm_weight(is_q, i + half);
        let cs = rope[params.pos0 * half + i];
        let ra = a * cs.x - b * cs.y;
        let rb = b * cs.x + a * cs.y;
        if (is_q) {
          qs[h * D4 + i / 4u][i % 4u] = ra;
          qs[h * D4 + (i + half) / 4u][(i + half) % 4u] = rb;
        } else {
          k_cache[key_row * D4 + i / 4u][i % 4u] = ra;
          k_cache[key_row * D4 + (i + half) / 4u][(i + half) % 4u] = rb;
        }
      }
    }
  }
}

// Workgroup-wide max or sum of each of the G heads' values at once, through subgroups (two barriers for all heads);
// every thread gets the results.
fn reduce_heads(v: array<f32, 8>, lid: u32, is_max: bool) -> array<f32, 8> {
  let groups = WG / SG;
  for (var h = 0u; h < G; h++) {
    let s = select(subgroupAdd(v[h]), subgroupMax(v[h]), is_max);
    if (lid % SG == 0u) {
      sg_red[h * groups + lid / SG] = s;
    }
  }
  workgroupBarrier();
  var r: array<f32, 8>;
  for (var h = 0u; h < G; h++) {
    r[h] = sg_red[h * groups];
    for (var i = 1u; i < groups; i++) {
      r[h] = select(r[h] + sg_red[h * groups + i], max(r[h], sg_red[h * groups + i]), is_max);
    }
  }
  workgroupBarrier();
  return r;
}

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
  let base_of = ((g * G) * CHUNKS + chunk) * (HD + 2u);
  if (n == 0u) {
    // Past the causal end (workgroup-uniform): an empty partial, max −3e38 and sum 0, weighs nothing when combined.
    for (var i = lid; i < G * (HD + 2u); i += WG) {
      let h = i / (HD + 2u);
      let e = i % (HD + 2u);
      out[((g * G + h) * CHUNKS + chunk) * (HD + 2u) + e] = select(0.0, -3.0e38, e == HD);
    }
    return;
  }

  if (NORM_ROPE) {
    // The new key (raw in the cache at pos0) is the chunk's that holds pos0 to finish; no other workgroup reads that row.
    let has_key = chunk == params.pos0 / CHUNK;
    let key_row = g * params.capacity + params.pos0;
    for (var i = lid; i < G * HD; i += WG) {
      heads[i] = q[g * G * HD + i];
    }
    if (has_key) {
      for (var i = lid; i < HD; i += WG) {
        heads[G * HD + i] = k_cache[key_row * D4 + i / 4u][i % 4u];
      }
    }
    workgroupBarrier();
    norm_rope_heads(has_key, key_row, lid);
    storageBarrier();
  } else {
    for (var i = lid; i < G * D4; i += WG) {
      let h = g * G + i / D4;
      let c = i % D4;
      let at = h * HD + 4u * c;
      qs[i] = vec4<f32>(q[at], q[at + 1u], q[at + 2u], q[at + 3u]);
    }
  }
  workgroupBarrier();

  // 1. Scores. Every subgroup runs the same trip count (n is workgroup-uniform; keys past it masked) so subgroupAdd
  // stays uniform; entries of p past n are never read. A subgroup
  // takes KU keys a round and issues their loads together: a key at a time, each round waited out one load's latency.
  let sg = lid / SG;
  let lane = lid % SG;
  for (var j0 = 0u; j0 < n; j0 += KU * (WG / SG)) {
    var d: array<f32, 8 * KU>; // d[u · 8 + h]: key j0 + u · (WG / SG) + sg, head h
    for (var i = 0u; i < 8u * KU; i++) {
      d[i] = 0.0;
    }
    for (var c = lane; c < D4; c += SG) {
      var k: array<vec4<f32>, KU>;
      for (var u = 0u; u < KU; u++) {
        let j = j0 + u * (WG / SG) + sg;
        let row = g * params.capacity + min(first + j, all_keys - 1u); // masked past n; stays inside head g
        k[u] = k_cache[row * D4 + c];
      }
      for (var u = 0u; u < KU; u++) {
        for (var h = 0u; h < G; h++) {
          d[u * 8u + h] += dot(qs[h * D4 + c], k[u]);
        }
      }
    }
    for (var u = 0u; u < KU; u++) {
      let j = j0 + u * (WG / SG) + sg;
      for (var h = 0u; h < G; h++) {
        let s = subgroupAdd(d[u * 8u + h]);
        if (lane == 0u && j < CHUNK) {
          p[h * CHUNK + j] = select(-3.0e38, s * params.scale, j < n);
        }
      }
    }
  }
  workgroupBarrier();

  // 2. Per head: max, weights, sum (CHUNK ≤ WG: one key per thread), every head in the same reductions.
  var sv: array<f32, 8>;
  for (var h = 0u; h < G; h++) {
    sv[h] = select(-3.0e38, p[h * CHUNK + min(lid, CHUNK - 1u)], lid < n);
  }
  var m = reduce_heads(sv, lid, true);
  for (var h = 0u; h < G; h++) {
    let e = select(0.0, exp(sv[h] - m[h]), lid < n);
    if (lid < CHUNK) {
      p[h * CHUNK + lid] = e;
    }
    sv[h] = e;
  }
  var l = reduce_heads(sv, lid, false); // its barriers also publish p[]

  // 3. Values: column c of keys j ≡ slice (mod SLICES), every head at once.
  let c = lid % D4;
  let slice = lid / D4;
  var acc: array<vec4<f32>, 8>;
  for (var h = 0u; h < G; h++) {
    acc[h] = vec4<f32>();
  }
  if (slice < SLICES) {
    // KU keys' loads issued together, then added in key order (the sums of one key at a time).
    var j = slice;
    for (; j + (KU - 1u) * SLICES < n; j += KU * SLICES) {
      var v: array<vec4<f32>, KU>;
      for (var u = 0u; u < KU; u++) {
        v[u] = v_cache[(row0 + j + u * SLICES) * D4 + c];
      }
      for (var u = 0u; u < KU; u++) {
        for (var h = 0u; h < G; h++) {
          acc[h] += p[h * CHUNK + j + u * SLICES] * v[u];
        }
      }
    }
    for (; j < n; j += SLICES) {
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
      if (DIRECT) {
        let at = (g * G + h) * HD + 4u * lid;
        out[at] = sum.x / l[h];
        out[at + 1u] = sum.y / l[h];
        out[at + 2u] = sum.z / l[h];
        out[at + 3u] = sum.w / l[h];
        continue;
      }
      let base = base_of + h * CHUNKS * (HD + 2u);
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
