// Causal GQA attention over the KV cache: query row t sits at position pos0 + t and attends to keys 0 … pos0 + t of
// kv head h / (NH / NKV), WG keys at a time with an online softmax (running max and sum, rescaled per block).
// One workgroup per (row, head), or with SPLIT (flash-decoding) per (row, head, key chunk of CHUNK keys): each chunk
// then writes its partial (max, sum, unnormalized output) and attention-combine.wgsl merges the chunks.
//   q: [seq, NH, HD] f32;  k_cache, v_cache: [NKV, capacity, HD] f32
//   out: [seq, NH·HD] f32, or with SPLIT partials [seq, NH, CHUNKS, HD + 2] (output, then max, then sum)

// Params, bindings and NH / NKV / HD: attention-common.wgsl; reduce_f: reduce-f32.wgsl; both prepended.
override SPLIT: bool = false;
override CHUNK: u32 = 256u;
override CHUNKS: u32 = 1u;
override WG: u32 = 128u; // a power of two, ≥ HD / 4 (see acc below); fewer on CPU adapters (index.ts)

var<workgroup> q_row: array<f32, HD>;
var<workgroup> p: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let index = wid.x + wid.y * nwg.x;
  let chunk = select(0u, index % CHUNKS, SPLIT);
  let linear = select(index, index / CHUNKS, SPLIT);
  let t = min(linear / NH, params.seq - 1u);
  let h = linear % NH;
  let g = h / (NH / NKV);
  let all_keys = params.pos0 + t + 1u;
  // This workgroup's keys: [first, n_keys).
  let first = select(0u, min(chunk * CHUNK, all_keys), SPLIT);
  let n_keys = select(all_keys, min(first + CHUNK, all_keys), SPLIT);
  for (var i = lid; i < HD; i += WG) {
    q_row[i] = q[(t * NH + h) * HD + i];
  }
  workgroupBarrier();

  var m = -3.0e38;
  var l = 0.0;
  // Thread lid owns output dims lid, lid + WG, … (HD ≤ 4·WG).
  var acc: array<f32, 4>;
  for (var j0 = first; j0 < n_keys; j0 += WG) {
    let j = j0 + lid;
    var s = -3.0e38;
    if (j < n_keys) {
      let kb = (g * params.capacity + j) * HD;
      var d = 0.0;
      for (var i = 0u; i < HD; i++) {
        d = fma(q_row[i], k_cache[kb + i], d);
      }
      s = d * params.scale;
    }
    let m_new = max(m, reduce_f(s, lid, true));
    let e = select(0.0, exp(s - m_new), j < n_keys);
    p[lid] = e;
    let block_sum = reduce_f(e, lid, false); // also publishes p[] to every thread (barriers inside)
    let correction = exp(m - m_new);
    l = l * correction + block_sum;
    let count = min(WG, n_keys - j0);
    for (var r = 0u; r < 4u; r++) {
      let i = lid + r * WG;
      if (i < HD) {
        var a = acc[r] * correction;
        for (var jj = 0u; jj < count; jj++) {
          a = fma(p[jj], v_cache[(g * params.capacity + j0 + jj) * HD + i], a);
        }
        acc[r] = a;
      }
    }
    m = m_new;
    workgroupBarrier();
  }
  if (linear < params.seq * NH) {
    if (SPLIT) {
      // An empty chunk (past the causal end) leaves max −3e38 and sum 0: it weighs nothing when combined.
      let base = ((t * NH + h) * CHUNKS + chunk) * (HD + 2u);
      for (var r = 0u; r < 4u; r++) {
        let i = lid + r * WG;
        if (i < HD) {
          out[base + i] = acc[r];
        }
      }
      if (lid == 0u) {
        out[base + HD] = m;
        out[base + HD + 1u] = l;
      }
    } else {
      for (var r = 0u; r < 4u; r++) {
        let i = lid + r * WG;
        if (i < HD) {
          out[(t * NH + h) * HD + i] = acc[r] / l;
        }
      }
    }
  }
}
