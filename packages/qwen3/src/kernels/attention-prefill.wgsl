// Causal GQA attention for prefill, tiled: a workgroup takes TQ query rows of one head; key/value blocks of KB rows
// are loaded into workgroup memory once and used by all TQ rows, with an online softmax per row (running max and
// sum, rescaled per block). Row t sits at position pos0 + t and sees keys 0 … pos0 + t.
//   q: [seq, NH, HD] f32;  k_cache, v_cache: [NKV, capacity, HD] f32;  out: [seq, NH·HD] f32
// Threads: WG = 128; scores (t, j) two per thread; output dims d = lid % 8 + 8·k of row t = lid / 8.

// Params, bindings and NH / NKV / HD: attention-common.wgsl, prepended.
const WG: u32 = 128u;
// Rows per workgroup and keys per block: 16 and 16 up to HD 128, 8 and 8 beyond (32 KiB of workgroup memory).
override TQ: u32 = 16u;
override KB: u32 = 16u;
const MAX_DPT: u32 = 32u; // dims per thread = HD / 8 ≤ 32 (HD ≤ 256)

var<workgroup> q_tile: array<f32, TQ * HD>;
var<workgroup> k_tile: array<f32, KB * HD>;
var<workgroup> v_tile: array<f32, KB * HD>;
var<workgroup> s_tile: array<f32, TQ * KB>;
var<workgroup> row_scale: array<f32, TQ>;
var<workgroup> row_sum: array<f32, TQ>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let linear = wid.x + wid.y * nwg.x;
  let h = linear % NH;
  let tile = linear / NH;
  let g = h / (NH / NKV);
  let t0 = tile * TQ;
  let rows = min(TQ, params.seq - min(t0, params.seq));
  // Keys any row of this tile may see.
  let n_keys = params.pos0 + t0 + rows;

  for (var i = lid; i < TQ * HD; i += WG) {
    let t = i / HD;
    q_tile[i] = select(0.0, q[((t0 + t) * NH + h) * HD + i % HD], t < rows);
  }
  var m = -3.0e38; // running max of row `mine` (threads < TQ own a row's statistics)
  var l = 0.0;
  let mine = lid;
  let out_row = min(lid / 8u, TQ - 1u); // threads past TQ · 8 mirror the last row and store nothing
  let dpt = HD / 8u;
  var acc: array<f32, MAX_DPT>;
  for (var k = 0u; k < MAX_DPT; k++) {
    acc[k] = 0.0;
  }
  workgroupBarrier();

  for (var j0 = 0u; j0 < n_keys; j0 += KB) {
    for (var i = lid; i < KB * HD; i += WG) {
      let j = min(j0 + i / HD, n_keys - 1u);
      let at = (g * params.capacity + j) * HD + i % HD;
      k_tile[i] = k_cache[at];
      v_tile[i] = v_cache[at];
    }
    workgroupBarrier();
    // Scores, masked causally.
    for (var p = lid; p < TQ * KB; p += WG) {
      let t = p / KB;
      let j = j0 + p % KB;
      var s = -3.0e38;
      if (t < rows && j <= params.pos0 + t0 + t) {
        var d = 0.0;
        for (var i = 0u; i < HD; i++) {
          d = fma(q_tile[t * HD + i], k_tile[(p % KB) * HD + i], d);
        }
        s = d * params.scale;
      }
      s_tile[p] = s;
    }
    workgroupBarrier();
    // Per row: new max, weights, sum and the factor rescaling the previous output.
    if (mine < TQ) {
      var block_max = -3.0e38;
      for (var c = 0u; c < KB; c++) {
        block_max = max(block_max, s_tile[mine * KB + c]);
      }
      let m_new = max(m, block_max);
      var sum = 0.0;
      for (var c = 0u; c < KB; c++) {
        let s = s_tile[mine * KB + c];
        let e = select(0.0, exp(s - m_new), s > -1.0e38);
        s_tile[mine * KB + c] = e;
        sum += e;
      }
      let correction = exp(m - m_new);
      l = l * correction + sum;
      m = m_new;
      row_scale[mine] = correction;
      row_sum[mine] = l;
    }
    workgroupBarrier();
    for (var k = 0u; k < dpt; k++) {
      let d = lid % 8u + 8u * k;
      var a = acc[k] * row_scale[out_row];
      for (var c = 0u; c < KB; c++) {
        a = fma(s_tile[out_row * KB + c], v_tile[c * HD + d], a);
      }
      acc[k] = a;
    }
    workgroupBarrier();
  }
  if (lid / 8u < rows) {
    for (var k = 0u; k < dpt; k++) {
      out[((t0 + out_row) * NH + h) * HD + lid % 8u + 8u * k] = acc[k] / row_sum[out_row];
    }
  }
}
