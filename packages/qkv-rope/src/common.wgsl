// Shared by the decode (GEMV) and prefill (tiled) kernels of QKVRoPE: bindings, weight decoding, and the epilogue
// that turns one head's raw projection into the output: q, k → RMSNorm over head_dim (f32) · q_norm / k_norm →
// RoPE (rotate_half pairs i, i + HD/2; cos/sin from a table computed in f64 on the host); v → as is.
//
// Work is split into "tasks": task < NH is query head `task`, then NKV key heads, then NKV value heads.

struct Params {
  seq: u32,
  hidden: u32,
  pos0: u32,
  kv_capacity: u32,
  eps: f32,
  w_scale: f32, // multiplies the projections (2^-s for weights stored as f16 times 2^s by matmul's storeAsF16; else 1)
}

@group(0) @binding(0) var<storage, read> x: array<f32>;            // [seq, hidden] f32
@group(0) @binding(1) var<storage, read> wq: array<u32>;           // [NH·HD, hidden] W_DTYPE
@group(0) @binding(2) var<storage, read> wk: array<u32>;           // [NKV·HD, hidden] W_DTYPE
@group(0) @binding(3) var<storage, read> wv: array<u32>;           // [NKV·HD, hidden] W_DTYPE
@group(0) @binding(4) var<storage, read> q_norm: array<u32>;       // [HD] N_DTYPE
@group(0) @binding(5) var<storage, read> k_norm: array<u32>;       // [HD] N_DTYPE
@group(0) @binding(6) var<storage, read> rope: array<vec2<f32>>;   // [positions, HD/2] (cos, sin)
@group(0) @binding(7) var<storage, read_write> q_out: array<f32>;  // [seq, NH, HD]
@group(0) @binding(8) var<storage, read_write> k_out: array<f32>;  // [seq, NKV, HD], or cache [NKV, kv_capacity, HD]
@group(0) @binding(9) var<storage, read_write> v_out: array<f32>;  // like k_out
@group(0) @binding(10) var<uniform> params: Params;

// F32 / BF16 / F16 and unpack_half come from the tensor package's dtypes.wgsl, prepended to the module.
override W_DTYPE: u32 = BF16;
override N_DTYPE: u32 = BF16;
override NH: u32 = 16u;
override NKV: u32 = 8u;
override HD: u32 = 128u;
// K and V go to a cache laid out [NKV, kv_capacity, HD] at positions pos0 + row.
override KV_CACHE: bool = false;
override WG: u32 = 256u;
// Token rows per workgroup (1 for decode).
override TM: u32 = 1u;

// The head a task refers to within its own projection (q, k or v).
fn task_head(task: u32) -> u32 {
  return select(select(task - NH - NKV, task - NH, task < NH + NKV), task, task < NH);
}

// Word `i` of the task's weight matrix (a u32 holds one f32 or two 16-bit elements).
fn w_word(task: u32, i: u32) -> u32 {
  if (task < NH) {
    return wq[i];
  }
  if (task < NH + NKV) {
    return wk[i];
  }
  return wv[i];
}

// Element (r, k) of the task's weight matrix, r < HD within the head.
fn w_elem(task: u32, r: u32, k: u32) -> f32 {
  let e = (task_head(task) * HD + r) * params.hidden + k;
  if (W_DTYPE == F32) {
    return bitcast<f32>(w_word(task, e));
  }
  return unpack_half(w_word(task, e >> 1u), e & 1u, W_DTYPE);
}

fn norm_weight(is_q: bool, i: u32) -> f32 {
  var word: u32;
  let idx = select(i >> 1u, i, N_DTYPE == F32);
  if (is_q) {
    word = q_norm[idx];
  } else {
    word = k_norm[idx];
  }
  if (N_DTYPE == F32) {
    return bitcast<f32>(word);
  }
  return unpack_half(word, i & 1u, N_DTYPE);
}

// One head's raw projection for TM token rows, [TM, HD]. The prefill kernel also uses it as its weight tile during
// the matmul (HEAD_OUT_SIZE covers both), which keeps it inside 32 KiB of workgroup memory.
override HEAD_OUT_SIZE: u32 = TM * HD;
var<workgroup> head_out: array<f32, HEAD_OUT_SIZE>;
var<workgroup> row_sumsq: array<f32, WG>;

// Normalizes (q, k), rotates (q, k) and stores one head's TM rows, WG / 16 rows at a time (16 threads per row).
// Call from uniform control flow.
fn epilogue(task: u32, tile: u32, lid: u32) {
  let sub = lid % 16u;
  let is_v = task >= NH + NKV;
  let is_q = task < NH;
  let half = HD / 2u;
  for (var first = 0u; first < TM; first += WG / 16u) {
    let t = first + lid / 16u;
    let token = tile * TM + t;
    let live = t < TM && token < params.seq;
    var ss = 0.0;
    if (live && !is_v) {
      for (var i = sub; i < HD; i += 16u) {
        let h = head_out[t * HD + i];
        ss = fma(h, h, ss);
      }
    }
    row_sumsq[lid] = ss;
    workgroupBarrier();
    for (var stride = 8u; stride > 0u; stride >>= 1u) {
      if (sub < stride) {
        row_sumsq[lid] += row_sumsq[lid + stride];
      }
      workgroupBarrier();
    }
    if (live) {
      let base = out_index(task, token);
      if (is_v) {
        for (var i = sub; i < HD; i += 16u) {
          v_out[base + i] = head_out[t * HD + i];
        }
      } else {
        let inv = 1.0 / sqrt(row_sumsq[lid - sub] / f32(HD) + params.eps);
        let cs_base = (params.pos0 + token) * half;
        for (var i = sub; i < half; i += 16u) {
          norm_rope_store(is_q, base, i, head_out[t * HD + i], head_out[t * HD + i + half], inv, cs_base);
        }
      }
    }
    // row_sumsq is reused by the next group of rows.
    workgroupBarrier();
  }
}

// The pair (i, i + HD/2) of a q or k head (raw values a, b): normalized (inv · norm weight), rotated by RoPE (cs_base:
// the token's row of the table) and stored into q_out or k_out from `base`.
fn norm_rope_store(is_q: bool, base: u32, i: u32, a: f32, b: f32, inv: f32, cs_base: u32) {
  let half = HD / 2u;
  let an = a * inv * norm_weight(is_q, i);
  let bn = b * inv * norm_weight(is_q, i + half);
  let cs = rope[cs_base + i];
  let ra = an * cs.x - bn * cs.y;
  let rb = bn * cs.x + an * cs.y;
  if (is_q) {
    q_out[base + i] = ra;
    q_out[base + i + half] = rb;
  } else {
    k_out[base + i] = ra;
    k_out[base + i + half] = rb;
  }
}

// Where element 0 of (task, token) lives in its output: q_out, or k_out / v_out (rows or cache layout).
fn out_index(task: u32, token: u32) -> u32 {
  if (task < NH) {
    return (token * NH + task) * HD;
  }
  return kv_index(task_head(task), token, params.pos0 + token);
}

fn kv_index(head: u32, token: u32, pos: u32) -> u32 {
  if (KV_CACHE) {
    return (head * params.kv_capacity + pos) * HD;
  }
  return (token * NKV + head) * HD;
}
