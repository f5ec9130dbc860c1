// Picks the next token on the GPU (one workgroup), with the semantics of ../sampling.ts: repetition and presence
// penalties on tokens marked in `seen`, temperature, top-k, top-p, min-p, then the inverse CDF at u in token-id order;
// temperature 0 is the penalized argmax. Thresholds are exact: binary searches over the order-preserving u32 image
// of the f32 values, one reduction over the vocabulary per step. Only out[0] (the token id) goes back to the host.
// It is always an id below n, or NON_FINITE when the logits row holds NaN or ±Inf (../non-finite.ts reads that).
// Extreme settings stay finite: penalized logits are clamped to f32's range (as sampling.ts does), temperature
// divides (p − pmax) ≤ 0 (never p alone, which overflows for a tiny temperature), temperatures below f32's smallest
// normal are greedy, and the top-p threshold never passes the largest weight (1), so the top token always survives.

struct Params {
  n: u32,
  row_offset: u32,
  top_k: u32,
  temperature: f32,
  top_p: f32,
  min_p: f32,
  repetition_penalty: f32,
  presence_penalty: f32,
  u: f32,
}

@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read> seen: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;
@group(0) @binding(3) var<uniform> params: Params;

// Threads (reduce_f: reduce-f32.wgsl, prepended): 256 on GPUs; 64 on CPU adapters, where a workgroup's lanes run as
// coroutines on one core and each of the searches' ~100 reductions passes them all through its barriers.
override WG: u32 = 256u;
const NON_FINITE: u32 = 0xffffffffu;
const F32_MIN_NORMAL: f32 = 0x1p-126f;
var<workgroup> red_u: array<u32, WG>;

// exp((z − zmax) / T): the difference is ≤ 0, so a tiny T sends it to −∞ (weight 0), never to ∞ − ∞.
fn weight(zi: f32, zmax: f32) -> f32 {
  return exp(max(zi - zmax, -F32_MAX) / params.temperature);
}

// Workgroup-wide sum (or min) of one u32 per thread; every thread gets the result.
fn reduce_u(v: u32, lid: u32, is_min: bool) -> u32 {
  red_u[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      red_u[lid] = select(red_u[lid] + red_u[lid + s], min(red_u[lid], red_u[lid + s]), is_min);
    }
    workgroupBarrier();
  }
  let r = red_u[0];
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  let n = params.n;
  var zmax = -F32_MAX;
  var bad = 0u;
  for (var i = lid; i < n; i += WG) {
    zmax = max(zmax, penalized(i));
    bad = max(bad, select(0u, 1u, non_finite(logits[params.row_offset + i])));
  }
  zmax = reduce_f(zmax, lid, true);
  // Not an early return: the uniformity analysis cannot see that a reduced value is the same for every invocation,
  // so the pick runs to the end (bounded loops) and only the id written changes.
  let bad_row = reduce_u(bad, lid, false) != 0u;

  if (params.temperature < F32_MIN_NORMAL) {
    // Greedy: the lowest id reaching the maximum.
    var first = 0xffffffffu;
    for (var i = lid; i < n; i += WG) {
      if (penalized(i) == zmax) {
        first = min(first, i);
      }
    }
    first = reduce_u(first, lid, true);
    if (lid == 0u) {
      out[0] = select(first, NON_FINITE, bad_row);
    }
    return;
  }

  // top-k: the largest key θ with at least k values ≥ θ (the k-th largest value; ties kept).
  var k_floor = 0u;
  if (params.top_k > 0u && params.top_k < n) {
    var lo = 0u;
    var hi = 0xffffffffu;
    for (var step = 0u; step < 32u; step++) {
      let mid = lo + (hi - lo) / 2u + (hi - lo) % 2u;
      var c = 0u;
      for (var i = lid; i < n; i += WG) {
        c += select(0u, 1u, key(penalized(i)) >= mid);
      }
      if (reduce_u(c, lid, false) >= params.top_k) {
        lo = mid;
      } else {
        hi = mid - 1u;
      }
    }
    k_floor = lo;
  }

  // Weights exp(z − zmax) of the top-k survivors.
  var local_total = 0.0;
  for (var i = lid; i < n; i += WG) {
    let zi = penalized(i);
    local_total += select(0.0, weight(zi, zmax), key(zi) >= k_floor);
  }
  let total = reduce_f(local_total, lid, false);

  // top-p: the largest weight θ such that the weights ≥ θ carry at least top_p of the mass. θ ≤ 1 (the top token's
  // weight): a top_p that rounds to 0 in f32 keeps the top token (and its ties), as the reference does.
  var p_floor = 0u; // key of weight 0.0 is 0x80000000; 0 keeps everything
  if (params.top_p < 1.0) {
    var lo = 0x80000000u;
    var hi = key(1.0);
    for (var step = 0u; step < 32u; step++) {
      let mid = lo + (hi - lo) / 2u + (hi - lo) % 2u;
      var m = 0.0;
      for (var i = lid; i < n; i += WG) {
        let zi = penalized(i);
        let w = select(0.0, weight(zi, zmax), key(zi) >= k_floor);
        m += select(0.0, w, key(w) >= mid);
      }
      if (reduce_f(m, lid, false) >= params.top_p * total) {
        lo = mid;
      } else {
        hi = mid - 1u;
      }
    }
    p_floor = lo;
  }

  // Final weights: top-k, top-p and min-p survivors (weights are relative to the largest, which is 1).
  let c = (n + WG - 1u) / WG;
  let begin = min(lid * c, n);
  let end = min(begin + c, n);
  var chunk = 0.0;
  var last = 0u;
  for (var i = begin; i < end; i++) {
    let w = final_weight(i, zmax, k_floor, p_floor);
    chunk += w;
    if (w > 0.0) {
      last = i + 1u;
    }
  }
  red_f[lid] = chunk;
  red_u[lid] = last;
  workgroupBarrier();
  if (lid == 0u) {
    // Serial scan over the 256 chunk sums, then a walk through the chunk holding the goal.
    var grand = 0.0;
    var fallback = 0u;
    for (var t = 0u; t < WG; t++) {
      grand += red_f[t];
      fallback = max(fallback, red_u[t]);
    }
    let goal = params.u * grand;
    var acc = 0.0;
    var picked = fallback - 1u; // rounding may leave the goal past the end: take the last allowed token
    var done = false;
    for (var t = 0u; t < WG && !done; t++) {
      if (goal < acc + red_f[t]) {
        let b = min(t * c, n);
        let e = min(b + c, n);
        for (var i = b; i < e; i++) {
          let w = final_weight(i, zmax, k_floor, p_floor);
          if (w > 0.0) {
            acc += w;
            picked = i;
            if (goal < acc) {
              break;
            }
          }
        }
        done = true;
      } else {
        acc += red_f[t];
      }
    }
    out[0] = select(picked, NON_FINITE, bad_row);
  }
}

fn final_weight(i: u32, zmax: f32, k_floor: u32, p_floor: u32) -> f32 {
  let zi = penalized(i);
  let w = select(0.0, weight(zi, zmax), key(zi) >= k_floor);
  let keep = w > 0.0 && key(w) >= p_floor && w >= params.min_p;
  return select(0.0, w, keep);
}
