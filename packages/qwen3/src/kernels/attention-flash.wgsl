// Causal GQA flash attention for prefill: S = Q·Kᵀ and O += P·V as register-tiled products through workgroup memory,
// with an online softmax in f32 in between, so memory stays linear in the prompt length.
//   q: [seq, NH, HD] f32;  k_cache, v_cache: [NKV, capacity, HD] f32;  out: [seq, NH·HD] f32
// Query row t sits at position pos0 + t and sees keys 0 … pos0 + t of kv head h / G (G = NH / NKV query heads per kv
// head). A workgroup takes R = 64 consecutive (position, head-in-group) rows of one kv head, ρ = t·G + i, so the G
// heads that share a kv head share every K/V block loaded. Keys advance KB = 64 at a time:
//   S (64 × 64): invocation (a, b) = (lid / 16, lid % 16) holds rows 4a … 4a + 3 and keys 4b … 4b + 3, summing
//     over d in chunks of DC dims staged d-major (qs[d][ρ], ks[d][j]), so that each d costs it two 16-byte loads of
//     workgroup memory (its 4 rows, its 4 keys) for 16 FMAs;
//   softmax: WG / R invocations per row (a subgroup takes consecutive rows) update its running max m and sum l and
//     turn the row of S into P, stored key-major (pt[j][ρ]) so that the product below reads an invocation's 4 rows
//     of one key as one vec4;
//   O (64 × HD): invocation (a, b) holds rows 4a … 4a + 3 (a vec4 per dim) and dims b + 16·j, keys VC at a time.
// Long prompts leave few workgroups (one per 64 rows of a kv head: 128 at 512 tokens, under one per SM of a large
// GPU) each walking every key, so the keys are split too: workgroup (kv head g, row block, split s) takes keys
// s·keys_per_split … (s + 1)·keys_per_split − 1 (keys_per_split a multiple of KB) and, with `partials`, writes its
// unnormalized O with its running max m and sum l into `out` laid out as flash-decoding partials
// [seq, NH, CHUNKS, HD + 2] (CHUNKS ≥ splits), which attention-flash-merge.wgsl merges over the splits each row can
// see (`partials` set: also with one split, when the merge writes o_proj's input split for the tensor cores).
// A split a row cannot see at all (it starts past the row's last key) leaves junk in that row's partial, finite
// (every score is the mask value): the combine never reads it.
// HD, CHUNKS and DC (dims of Q and K staged at a time) come as `const`s before this module (attention-flash.ts): the
// per-invocation arrays must have const sizes.

// partials = 1: write partials (unnormalized, with m and l) for attention-flash-merge.wgsl, even with one split.
struct Params {
  seq: u32,
  pos0: u32,
  capacity: u32,
  scale: f32,
  keys_per_split: u32,
  splits: u32,
  partials: u32,
}

@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k_cache: array<f32>;
@group(0) @binding(2) var<storage, read> v_cache: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

override NH: u32 = 16u;
override NKV: u32 = 8u;

const WG: u32 = 256u;
const R: u32 = 64u;
const KB: u32 = 64u;
const DJ: u32 = HD / 16u;
// O = P·V where HD is a multiple of 64 (V4) reads V as vec4s: invocation b owns the vec4 columns b + 16·jj (jj < D4,
// 4 consecutive dims each), one 16-byte load of workgroup memory feeding 16 FMAs where the scalar layout (dims
// b + 16·j, other head dims) needs one load per 4.
const V4: bool = HD % 64u == 0u;
const D4: u32 = max(HD / 64u, 1u);
// Keys of V staged at a time: a power of two dividing KB, at most 8 KiB of workgroup memory.
const VC: u32 = select(select(select(8u, 16u, HD <= 128u), 32u, HD <= 64u), 64u, HD <= 32u);
const NEG: f32 = -3.0e38;

// Elements of each staged chunk one invocation fetches: Q (DC × R), K (DC × KB), V (VC × HD).
const QPT: u32 = (DC * R + WG - 1u) / WG;
const KPT: u32 = (DC * KB + WG - 1u) / WG;
const VPT: u32 = (VC * HD + WG - 1u) / WG;

// qs[d][ρ / 4][ρ % 4], ks[d][j / 4][j % 4], pt[j][ρ / 4][ρ % 4], each d (j) padded by one vec4: the staging
// stores (8 consecutive invocations write 8 d of one row) and the stores of S then land in different banks.
const QS: u32 = R / 4u + 1u;
const KS: u32 = KB / 4u + 1u;
const PS: u32 = R / 4u + 1u;
var<workgroup> qs: array<vec4<f32>, DC * QS>;
var<workgroup> ks: array<vec4<f32>, DC * KS>;
var<workgroup> pt: array<vec4<f32>, KB * PS>;
// V staged VC keys at a time, [key][dim]: as vec4s (V4) or scalars; the layout not taken is a placeholder.
var<workgroup> vs: array<f32, select(VC * HD, 4u, V4)>;
var<workgroup> vs4: array<vec4<f32>, select(1u, VC * HD / 4u, V4)>;
var<workgroup> row_m: array<f32, R>;
var<workgroup> row_l: array<f32, R>;
var<workgroup> row_alpha: array<vec4<f32>, R / 4u>;
// Invocations per row in the softmax, and their partial maxima / sums.
const SPR: u32 = WG / R;
var<workgroup> part: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let G = NH / NKV;
  let total = params.seq * G; // rows of this kv head
  let blocks = (total + R - 1u) / R;
  let linear = wid.x + wid.y * nwg.x;
  let split = linear % params.splits;
  let g = linear / params.splits / blocks;
  let rho0 = ((linear / params.splits) % blocks) * R;
  // Keys any row of this workgroup may see, and this split's share of them.
  let n_keys = params.pos0 + (min(rho0 + R, total) - 1u) / G + 1u;
  let k_begin = split * params.keys_per_split;
  if (g >= NKV || k_begin >= n_keys) {
    return; // the tail of a 2-D grid, or a split past the causal end of these rows (uniform across the workgroup)
  }
  let k_end = min(k_begin + params.keys_per_split, n_keys);
  let a = lid / 16u;
  let b = lid % 16u;

  if (lid < R) {
    row_m[lid] = NEG;
    row_l[lid] = 0.0;
  }
  // o[j]: dim b + 16·j of rows 4a … 4a + 3; with V4, ov[r · D4 + jj]: dims 4·(b + 16·jj) … + 3 of row 4a + r.
  var o: array<vec4<f32>, DJ>;
  for (var j = 0u; j < DJ; j++) {
    o[j] = vec4<f32>(0.0);
  }
  var ov: array<vec4<f32>, 4u * D4>;
  for (var j = 0u; j < 4u * D4; j++) {
    ov[j] = vec4<f32>(0.0);
  }

  for (var j0 = k_begin; j0 < k_end; j0 += KB) {
    // S = Q·Kᵀ for this block of keys: s[i] holds row 4a + i, keys 4b … 4b + 3.
    var s: array<vec4<f32>, 4>;
    for (var i = 0u; i < 4u; i++) {
      s[i] = vec4<f32>(0.0);
    }
    // Q and K go through workgroup memory DC dims at a time; each invocation fetches its share of the next chunk
    // into registers before it computes on the current one, so the global loads overlap the FMAs.
    var qn: array<f32, QPT>;
    var kn: array<f32, KPT>;
    fetch_qk(0u, j0, rho0, total, g, n_keys, lid, &qn, &kn);
    for (var d0 = 0u; d0 < HD; d0 += DC) {
      for (var i = 0u; i < QPT; i++) {
        let e = lid + i * WG;
        if (e < DC * R) {
          let r = e / DC;
          qs[(e % DC) * QS + r / 4u][r % 4u] = qn[i];
        }
      }
      for (var i = 0u; i < KPT; i++) {
        let e = lid + i * WG;
        if (e < DC * KB) {
          let j = e / DC;
          ks[(e % DC) * KS + j / 4u][j % 4u] = kn[i];
        }
      }
      workgroupBarrier();
      if (d0 + DC < HD) {
        fetch_qk(d0 + DC, j0, rho0, total, g, n_keys, lid, &qn, &kn);
      }
      for (var d = 0u; d < DC; d++) {
        let qa = qs[d * QS + a];
        let kb = ks[d * KS + b];
        for (var i = 0u; i < 4u; i++) {
          s[i] = fma(vec4<f32>(qa[i]), kb, s[i]);
        }
      }
      workgroupBarrier();
    }
    // Scaled and masked, into pt (key-major): key 4b + j of rows 4a … 4a + 3 is one vec4.
    var mask_row: array<u32, 4>;
    for (var i = 0u; i < 4u; i++) {
      mask_row[i] = params.pos0 + min(rho0 + 4u * a + i, total - 1u) / G; // the last key row 4a + i sees
    }
    for (var j = 0u; j < 4u; j++) {
      let c = 4u * b + j;
      var col: vec4<f32>;
      for (var i = 0u; i < 4u; i++) {
        col[i] = select(NEG, s[i][j] * params.scale, j0 + c <= mask_row[i]);
      }
      pt[c * PS + a] = col;
    }
    workgroupBarrier();
    // Online softmax, P = exp(S − m_new), l = l·α + Σ P, α = exp(m_old − m_new): WG / R invocations per row, each
    // over KB / (WG / R) keys (invocation lid: row lid % R, keys of quarter lid / R); partial maxima and sums meet in
    // `part` ([quarter][row]).
    let row = lid % R;
    let quarter = lid / R;
    let c0 = quarter * (KB / SPR);
    var block_max = NEG;
    for (var c = 0u; c < KB / SPR; c++) {
      block_max = max(block_max, pt[(c0 + c) * PS + row / 4u][row % 4u]);
    }
    part[lid] = block_max;
    workgroupBarrier();
    var m_new = row_m[row];
    for (var i = 0u; i < SPR; i++) {
      m_new = max(m_new, part[i * R + row]);
    }
    var sum = 0.0;
    for (var c = 0u; c < KB / SPR; c++) {
      let at = (c0 + c) * PS + row / 4u;
      let e = exp(pt[at][row % 4u] - m_new);
      pt[at][row % 4u] = e;
      sum += e;
    }
    workgroupBarrier(); // every invocation has read part (maxima) and row_m
    part[lid] = sum;
    workgroupBarrier();
    if (quarter == 0u) {
      var total_sum = 0.0;
      for (var i = 0u; i < SPR; i++) {
        total_sum += part[i * R + row];
      }
      let alpha = exp(row_m[row] - m_new);
      row_alpha[row / 4u][row % 4u] = alpha;
      row_l[row] = row_l[row] * alpha + total_sum;
      row_m[row] = m_new;
    }
    workgroupBarrier();
    // O = O·α + P·V.
    let alpha = row_alpha[a];
    if (V4) {
      for (var r = 0u; r < 4u; r++) {
        for (var jj = 0u; jj < D4; jj++) {
          ov[r * D4 + jj] *= alpha[r];
        }
      }
    } else {
      for (var j = 0u; j < DJ; j++) {
        o[j] *= alpha;
      }
    }
    var vn: array<f32, VPT>;
    fetch_v(0u, j0, g, n_keys, lid, &vn);
    for (var v0 = 0u; v0 < KB; v0 += VC) {
      for (var i = 0u; i < VPT; i++) {
        let e = lid + i * WG;
        if (V4 && e < VC * HD) {
          vs4[e / 4u][e % 4u] = vn[i];
        } else if (e < VC * HD) {
          vs[e] = vn[i];
        }
      }
      workgroupBarrier();
      if (v0 + VC < KB) {
        fetch_v(v0 + VC, j0, g, n_keys, lid, &vn);
      }
      if (V4) {
        for (var c = 0u; c < VC; c++) {
          let pa = pt[(v0 + c) * PS + a];
          for (var jj = 0u; jj < D4; jj++) {
            let v = vs4[c * (HD / 4u) + b + 16u * jj];
            for (var r = 0u; r < 4u; r++) {
              ov[r * D4 + jj] = fma(vec4<f32>(pa[r]), v, ov[r * D4 + jj]);
            }
          }
        }
      } else {
        for (var c = 0u; c < VC; c++) {
          let pa = pt[(v0 + c) * PS + a];
          for (var j = 0u; j < DJ; j++) {
            o[j] = fma(pa, vec4<f32>(vs[c * HD + b + 16u * j]), o[j]);
          }
        }
      }
      workgroupBarrier();
    }
  }

  for (var i = 0u; i < 4u; i++) {
    let r = 4u * a + i;
    let rho = rho0 + r;
    if (rho < total) {
      let t = rho / G;
      let h = g * G + rho % G;
      // Unnormalized into a split's partial, or divided by the row's sum.
      var base = (t * NH + h) * HD;
      var mul = 1.0 / row_l[r];
      if (params.partials != 0u) {
        base = ((t * NH + h) * CHUNKS + split) * (HD + 2u);
        mul = 1.0;
      }
      if (V4) {
        for (var jj = 0u; jj < D4; jj++) {
          let d = 4u * (b + 16u * jj);
          for (var q = 0u; q < 4u; q++) {
            out[base + d + q] = ov[i * D4 + jj][q] * mul;
          }
        }
      } else {
        for (var j = 0u; j < DJ; j++) {
          out[base + b + 16u * j] = o[j][i] * mul;
        }
      }
      if (params.partials != 0u && b == 0u) {
        out[base + HD] = row_m[r];
        out[base + HD + 1u] = row_l[r];
      }
    }
  }
}

// This invocation's share of Q and K for dims d0 … d0 + DC − 1 of key block j0: element e = lid + i·WG of the chunk,
// (row or key e / DC, dim e % DC). Rows past the prompt and keys past n_keys repeat the last one (masked later).
fn fetch_qk(d0: u32, j0: u32, rho0: u32, total: u32, g: u32, n_keys: u32, lid: u32,
            qn: ptr<function, array<f32, QPT>>, kn: ptr<function, array<f32, KPT>>) {
  let G = NH / NKV;
  for (var i = 0u; i < QPT; i++) {
    let e = lid + i * WG;
    if (e < DC * R) {
      let rho = min(rho0 + e / DC, total - 1u);
      (*qn)[i] = q[((rho / G) * NH + g * G + rho % G) * HD + d0 + e % DC];
    }
  }
  for (var i = 0u; i < KPT; i++) {
    let e = lid + i * WG;
    if (e < DC * KB) {
      let j = min(j0 + e / DC, n_keys - 1u);
      (*kn)[i] = k_cache[(g * params.capacity + j) * HD + d0 + e % DC];
    }
  }
}

// This invocation's share of V for keys j0 + v0 … j0 + v0 + VC − 1: element e = lid + i·WG, (key e / HD, dim e % HD).
fn fetch_v(v0: u32, j0: u32, g: u32, n_keys: u32, lid: u32, vn: ptr<function, array<f32, VPT>>) {
  for (var i = 0u; i < VPT; i++) {
    let e = lid + i * WG;
    if (e < VC * HD) {
      let j = min(j0 + v0 + e / HD, n_keys - 1u);
      (*vn)[i] = v_cache[(g * params.capacity + j) * HD + e % HD];
    }
  }
}
