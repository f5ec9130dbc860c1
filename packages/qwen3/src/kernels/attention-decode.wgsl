// Flash-decoding for one query row (a decode step), by KV head: a workgroup takes one chunk of CHUNK keys of kv head
// g for all G = NH / NKV query heads that share it, so K and V are read once per group, not once per query head.
// Each subgroup walks keys j ≡ its index (mod S subgroups) with an online softmax, KU keys a round: its lanes load the
// round's keys and values together (as vec4s; CPL columns a lane), dot the keys with every head's q (subgroupAdd),
// then rescale their running sum and output columns by e^(m_old − m_new). The next round's loads are issued before
// this round's arithmetic, and the first round's before QK-norm + RoPE: a step's latency is about one memory round
// trip a round, where a softmax over the whole chunk first and the values after it took two (and two workgroup
// reductions between). At the end the subgroups' (max, sum, output) meet in workgroup memory and merge as the
// combine merges chunks.
// Writes the same partials as attention.wgsl with SPLIT, so attention-combine.wgsl merges the chunks; with DIRECT
// (CHUNKS = 1, one chunk of CHUNK keys holds them all) it writes the output itself, o / l — what the combine makes of
// one chunk — and no combine follows: a dispatch fewer per layer for steps at short contexts.
// NORM_ROPE: q and the new key arrive raw (qkv-rope's 'decode-projection' path) and Qwen3's QK-norm (RMSNorm over
// head_dim in f32, times q_norm / k_norm) and RoPE (rotate_half, cos/sin from the host's f64 table) happen here:
// every workgroup normalizes its group's q heads, and the one whose chunk holds position pos0 normalizes that key,
// writes it back to the cache for later steps and uses it from workgroup memory — one dispatch per layer fewer than
// a separate norm + RoPE pass.
//   q: [1, NH, HD] f32;  k_cache, v_cache: [NKV, capacity, HD] f32 (read as vec4);
//   out: [1, NH, CHUNKS, HD + 2] partials, or with DIRECT [1, NH·HD]
// Module = `enable subgroups;` + dtypes.wgsl + this. Limits (the host checks them): G ≤ 8, CPL ≤ 4.

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
// Threads a workgroup (the host takes the most whose workgroup memory fits): 256 for chunks, 512 for direct steps
// where the adapter allows (only NKV workgroups run there, so each keeps more keys' loads in flight).
override WG: u32 = 256u;
override CHUNK: u32 = 128u;
override CHUNKS: u32 = 1u;
override SG: u32 = 32u;
override G: u32 = NH / NKV;
override D4: u32 = HD / 4u;            // vec4 columns of a head
override S: u32 = WG / SG;             // subgroups: the key slices
override CPL: u32 = (D4 + SG - 1u) / SG; // vec4 columns a lane holds
// Keys a subgroup takes a round (loads issued together; with the next round's in flight, 2 KU keys a subgroup).
// H200: 4 a round made a step's pass 4–15 % slower and the decode at 8,192 cached positions 41–55 % of the short
// rate (64–83 % with 2).
const KU: u32 = 2u;

var<workgroup> qs: array<vec4<f32>, G * D4>;          // the normalized q heads (NORM_ROPE)
var<workgroup> kn: array<vec4<f32>, D4>;              // the normalized new key (NORM_ROPE)
var<workgroup> heads: array<f32, (G + 1u) * HD>;      // raw q heads and the raw new key (NORM_ROPE)
var<workgroup> norms: array<f32, 2u * HD>;            // q_norm then k_norm, as f32 (NORM_ROPE)
var<workgroup> rope_row: array<vec2<f32>, HD / 2u>;   // (cos, sin) at pos0 (NORM_ROPE)
var<workgroup> parts: array<vec4<f32>, G * S * D4>;   // [head][subgroup][column]: each subgroup's output
var<workgroup> part_m: array<f32, G * S>;             // [head][subgroup]: its running max
var<workgroup> part_l: array<f32, G * S>;             // [head][subgroup]: its running sum

// One round of a subgroup's keys and values: [u · 4 + i] = key u of the round, the lane's column lane + i · SG.
struct Round {
  k: array<vec4<f32>, 4u * KU>,
  v: array<vec4<f32>, 4u * KU>,
}

fn norm_weight(is_q: bool, i: u32) -> f32 {
  let idx = select(i >> 1u, i, N_DTYPE == F32);
  let word = select(k_norm[idx], q_norm[idx], is_q);
  if (N_DTYPE == F32) {
    return bitcast<f32>(word);
  }
  return unpack_half(word, i & 1u, N_DTYPE);
}

// Qwen3's QK-norm + RoPE of the G raw q heads (into qs) and, where has_key, the raw new key (into kn and back into
// the cache row key_row), held in heads[] ([G + 1][HD], the key last), with the weights in norms[] and rope_row[]:
// a subgroup a head, all heads at once, rounds of S heads; the sum of squares meets through subgroupAdd (control flow
// uniform: a subgroup without a head this round adds zeros and stores nothing). RMSNorm over head_dim in f32, times
// q_norm / k_norm, then rotate_half at pos0.
fn norm_rope_heads(has_key: bool, key_row: u32, lid: u32) {
  let half = HD / 2u;
  let lane = lid % SG;
  let count = select(G, G + 1u, has_key);
  for (var h0 = 0u; h0 < G + 1u; h0 += S) {
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
      let nw = select(HD, 0u, is_q);
      for (var i = lane; i < half; i += SG) {
        let a = heads[at + i] * inv * norms[nw + i];
        let b = heads[at + i + half] * inv * norms[nw + i + half];
        let cs = rope_row[i];
        let ra = a * cs.x - b * cs.y;
        let rb = b * cs.x + a * cs.y;
        if (is_q) {
          qs[h * D4 + i / 4u][i % 4u] = ra;
          qs[h * D4 + (i + half) / 4u][(i + half) % 4u] = rb;
        } else {
          kn[i / 4u][i % 4u] = ra;
          kn[(i + half) / 4u][(i + half) % 4u] = rb;
          k_cache[key_row * D4 + i / 4u][i % 4u] = ra;
          k_cache[key_row * D4 + (i + half) / 4u][(i + half) % 4u] = rb;
        }
      }
    }
  }
}

// The keys and values of subgroup sg's round from key j0 of the chunk (rows clamped into the live keys, columns into
// the head: the surplus is masked where used).
fn load_round(g: u32, first: u32, all_keys: u32, j0: u32, sg: u32, lane: u32) -> Round {
  var r: Round;
  for (var u = 0u; u < KU; u++) {
    let row = g * params.capacity + min(first + j0 + u * S + sg, all_keys - 1u);
    for (var i = 0u; i < CPL; i++) {
      let c = min(lane + i * SG, D4 - 1u);
      r.k[u * 4u + i] = k_cache[row * D4 + c];
      r.v[u * 4u + i] = v_cache[row * D4 + c];
    }
  }
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
  let sg = lid / SG;
  let lane = lid % SG;
  // The first round's loads go out now; QK-norm + RoPE run while they are in flight.
  var cur = load_round(g, first, all_keys, 0u, sg, lane);

  // q of the group's heads, this lane's columns: [h · 4 + i].
  var qr: array<vec4<f32>, 32>;
  var key_at = 0xffffffffu; // the new key's index in the chunk (NORM_ROPE, where the chunk holds it)
  if (NORM_ROPE) {
    // The new key (raw in the cache at pos0) is the chunk's that holds pos0 to finish; no other workgroup reads that row.
    let has_key = chunk == params.pos0 / CHUNK;
    let key_row = g * params.capacity + params.pos0;
    for (var i = lid; i < G * HD; i += WG) {
      heads[i] = q[g * G * HD + i];
    }
    // The norm weights and the rope row load with q, not after the sums of squares (a memory round trip less).
    for (var i = lid; i < HD; i += WG) {
      norms[i] = norm_weight(true, i);
      norms[HD + i] = norm_weight(false, i);
    }
    for (var i = lid; i < HD / 2u; i += WG) {
      rope_row[i] = rope[params.pos0 * (HD / 2u) + i];
    }
    if (has_key) {
      key_at = params.pos0 - first;
      for (var i = lid; i < HD; i += WG) {
        heads[G * HD + i] = k_cache[key_row * D4 + i / 4u][i % 4u];
      }
    }
    workgroupBarrier();
    norm_rope_heads(has_key, key_row, lid);
    workgroupBarrier();
    for (var h = 0u; h < G; h++) {
      for (var i = 0u; i < CPL; i++) {
        qr[h * 4u + i] = qs[h * D4 + min(lane + i * SG, D4 - 1u)];
      }
    }
  } else {
    for (var h = 0u; h < G; h++) {
      for (var i = 0u; i < CPL; i++) {
        let at = (g * G + h) * HD + 4u * min(lane + i * SG, D4 - 1u);
        qr[h * 4u + i] = vec4<f32>(q[at], q[at + 1u], q[at + 2u], q[at + 3u]);
      }
    }
  }

  // The subgroup's running max, sum and output columns per head (online softmax over its keys).
  var m: array<f32, 8>;
  var l: array<f32, 8>;
  var acc: array<vec4<f32>, 32>; // [h · 4 + i]
  for (var h = 0u; h < G; h++) {
    m[h] = -3.0e38;
    l[h] = 0.0;
    for (var i = 0u; i < CPL; i++) {
      acc[h * 4u + i] = vec4<f32>();
    }
  }
  // Every subgroup runs the same trip count (n is workgroup-uniform; keys past it masked) so subgroupAdd stays uniform.
  let round = KU * S; // keys of the workgroup's round
  for (var j0 = 0u; j0 < n; j0 += round) {
    var next: Round;
    if (j0 + round < n) {
      next = load_round(g, first, all_keys, j0 + round, sg, lane);
    }
    var s: array<f32, 8u * KU>; // [u · 8 + h]
    for (var u = 0u; u < KU; u++) {
      let j = j0 + u * S + sg;
      if (NORM_ROPE && j == key_at) {
        // The raw key the round loaded is the one normalized above.
        for (var i = 0u; i < CPL; i++) {
          cur.k[u * 4u + i] = kn[min(lane + i * SG, D4 - 1u)];
        }
      }
      for (var h = 0u; h < G; h++) {
        var d = 0.0;
        for (var i = 0u; i < CPL; i++) {
          if (lane + i * SG < D4) {
            d += dot(qr[h * 4u + i], cur.k[u * 4u + i]);
          }
        }
        s[u * 8u + h] = subgroupAdd(d) * params.scale;
      }
    }
    for (var h = 0u; h < G; h++) {
      var top = m[h];
      for (var u = 0u; u < KU; u++) {
        if (j0 + u * S + sg < n) {
          top = max(top, s[u * 8u + h]);
        }
      }
      let rescale = exp(m[h] - top);
      l[h] *= rescale;
      for (var i = 0u; i < CPL; i++) {
        acc[h * 4u + i] *= rescale;
      }
      for (var u = 0u; u < KU; u++) {
        if (j0 + u * S + sg < n) {
          let e = exp(s[u * 8u + h] - top);
          l[h] += e;
          for (var i = 0u; i < CPL; i++) {
            acc[h * 4u + i] += e * cur.v[u * 4u + i];
          }
        }
      }
      m[h] = top;
    }
    cur = next;
  }

  // The subgroups' outputs meet: out = Σ_s acc_s · e^(m_s − M) / Σ_s l_s · e^(m_s − M), M = max_s m_s (a subgroup
  // without keys has m −3e38, l 0 and weighs nothing; the subgroup of key 0 always has one).
  for (var h = 0u; h < G; h++) {
    for (var i = 0u; i < CPL; i++) {
      let c = lane + i * SG;
      if (c < D4) {
        parts[(h * S + sg) * D4 + c] = acc[h * 4u + i];
      }
    }
    if (lane == 0u) {
      part_m[h * S + sg] = m[h];
      part_l[h * S + sg] = l[h];
    }
  }
  workgroupBarrier();
  for (var t = lid; t < G * D4; t += WG) {
    let h = t / D4;
    let c = t % D4;
    var big = -3.0e38;
    for (var k = 0u; k < S; k++) {
      big = max(big, part_m[h * S + k]);
    }
    var sum = vec4<f32>();
    var total = 0.0;
    for (var k = 0u; k < S; k++) {
      let w = exp(part_m[h * S + k] - big);
      sum += w * parts[(h * S + k) * D4 + c];
      total += w * part_l[h * S + k];
    }
    if (DIRECT) {
      let at = (g * G + h) * HD + 4u * c;
      out[at] = sum.x / total;
      out[at + 1u] = sum.y / total;
      out[at + 2u] = sum.z / total;
      out[at + 3u] = sum.w / total;
      continue;
    }
    let base = base_of + h * CHUNKS * (HD + 2u);
    out[base + 4u * c] = sum.x;
    out[base + 4u * c + 1u] = sum.y;
    out[base + 4u * c + 2u] = sum.z;
    out[base + 4u * c + 3u] = sum.w;
    if (c == 0u) {
      out[base + HD] = big;
      out[base + HD + 1u] = total;
    }
  }
}
