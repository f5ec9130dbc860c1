// y (+)= x · Wᵀ in f32 FMAs on any adapter. Module = tile header + dtypes + gemm-common.wgsl + this.
// A workgroup computes a BM × BN tile of y; each invocation a TM × TN block of it (TM, TN multiples of 4). K advances
// BK at a time through workgroup memory, where x and W are stored k-major as vec4s (xs[kk][r / 4], ws[kk][c / 4]),
// so that an invocation reads its TM rows and TN columns of one k with TM/4 + TN/4 16-byte loads (the invocations
// of a subgroup sharing a row block read the same words; those sharing a column block, consecutive ones). Each k
// row of the tiles is padded by one vec4, so the transposing stores of consecutive k land in different banks.
// Each invocation fetches its share of the next k step's tiles into registers before it multiplies the current one,
// so the global loads are in flight behind the FMAs (one barrier pair per step, as without).
// With SPLIT_K > 1 the k steps are dealt out in SPLIT_K slices to as many workgroups per output tile (outputs of few
// columns, e.g. [512, 1024], are too few tiles to fill a large GPU); each writes its raw sums into `part`
// ([SPLIT_K][rows][n][gate, up]) and split-k-reduce.wgsl adds them and writes y.

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<u32>;
@group(0) @binding(2) var<storage, read> w2: array<u32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read_write> part: array<f32>;
@group(0) @binding(5) var<uniform> params: Params;

override SPLIT_K: u32 = 1u;

const THREADS_M: u32 = BM / TM;
const THREADS_N: u32 = BN / TN;
const THREADS: u32 = THREADS_M * THREADS_N;
const XS: u32 = BM / 4u + 1u; // vec4s per k row of xs
const WS: u32 = BN / 4u + 1u;
const TM4: u32 = TM / 4u;
const TN4: u32 = TN / 4u;
// Elements of x and pairs of W per k step each invocation fetches.
const XPT: u32 = (BM * BK + THREADS - 1u) / THREADS;
const WPT: u32 = (BN * BK / 2u + THREADS - 1u) / THREADS;

// One invocation's share of a k step's tiles, as fetched.
struct Fetched {
  x: array<f32, XPT>,
  w: array<vec2<f32>, WPT>,
  w2: array<vec2<f32>, WPT>,
}

var<workgroup> xs: array<vec4<f32>, BK * XS>;
var<workgroup> ws: array<vec4<f32>, BK * WS>;
var<workgroup> ws2: array<vec4<f32>, BK * WS>;

@compute @workgroup_size(THREADS)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  // With SPLIT_K, slice ks of k comes after all tiles of slice ks − 1.
  let tiles = ((params.rows + BM - 1u) / BM) * ((params.n + BN - 1u) / BN);
  let linear = wid.x + wid.y * nwg.x;
  let ks = linear / tiles;
  if (ks >= SPLIT_K) {
    return; // the tail of a 2-D grid (uniform across the workgroup)
  }
  let origin = tile_origin(linear % tiles, BM, BN);
  let r0 = origin.x;
  let c0 = origin.y;
  // This workgroup's k range: whole BK steps [k_begin, k_end) (all of k without SPLIT_K; a slice may be empty).
  let steps = (params.k + BK - 1u) / BK;
  let per_slice = (steps + SPLIT_K - 1u) / SPLIT_K;
  let k_begin = min(ks * per_slice, steps) * BK;
  let k_end = min(k_begin + per_slice * BK, params.k);
  let tr = lid / THREADS_N;
  let tc = lid % THREADS_N;
  var acc: array<vec4<f32>, TM * TN4>;
  var acc2: array<vec4<f32>, TM * TN4>;
  for (var i = 0u; i < TM * TN4; i++) {
    acc[i] = vec4<f32>(0.0);
    acc2[i] = vec4<f32>(0.0);
  }

  var f = fetch_step(r0, c0, k_begin, lid);
  for (var k0 = k_begin; k0 < k_end; k0 += BK) {
    // The fetched step into workgroup memory, k-major.
    for (var q = 0u; q < XPT; q++) {
      let i = lid + q * THREADS;
      if (i < BM * BK) {
        let r = i / BK;
        xs[(i % BK) * XS + r / 4u][r % 4u] = f.x[q];
      }
    }
    for (var q = 0u; q < WPT; q++) {
      let i = lid + q * THREADS;
      if (i < BN * BK / 2u) {
        let c = i / (BK / 2u);
        let kk = 2u * (i % (BK / 2u));
        ws[kk * WS + c / 4u][c % 4u] = f.w[q].x;
        ws[(kk + 1u) * WS + c / 4u][c % 4u] = f.w[q].y;
        if (SWIGLU) {
          ws2[kk * WS + c / 4u][c % 4u] = f.w2[q].x;
          ws2[(kk + 1u) * WS + c / 4u][c % 4u] = f.w2[q].y;
        }
      }
    }
    workgroupBarrier();
    if (k0 + BK < k_end) {
      f = fetch_step(r0, c0, k0 + BK, lid);
    }
    for (var kk = 0u; kk < BK; kk++) {
      var a: array<vec4<f32>, TM4>;
      var b: array<vec4<f32>, TN4>;
      for (var i = 0u; i < TM4; i++) {
        a[i] = xs[kk * XS + tr * TM4 + i];
      }
      for (var j = 0u; j < TN4; j++) {
        b[j] = ws[kk * WS + tc * TN4 + j];
      }
      for (var i = 0u; i < TM; i++) {
        let av = vec4<f32>(a[i / 4u][i % 4u]);
        for (var j = 0u; j < TN4; j++) {
          acc[i * TN4 + j] = fma(av, b[j], acc[i * TN4 + j]);
        }
      }
      if (SWIGLU) {
        for (var j = 0u; j < TN4; j++) {
          b[j] = ws2[kk * WS + tc * TN4 + j];
        }
        for (var i = 0u; i < TM; i++) {
          let av = vec4<f32>(a[i / 4u][i % 4u]);
          for (var j = 0u; j < TN4; j++) {
            acc2[i * TN4 + j] = fma(av, b[j], acc2[i * TN4 + j]);
          }
        }
      }
    }
    workgroupBarrier();
  }

  for (var i = 0u; i < TM; i++) {
    let r = r0 + tr * TM + i;
    for (var j = 0u; j < TN; j++) {
      let c = c0 + tc * TN + j;
      if (r < params.rows && c < params.n) {
        if (SPLIT_K == 1u) {
          store_out(r, c, acc[i * TN4 + j / 4u][j % 4u], acc2[i * TN4 + j / 4u][j % 4u]);
        } else {
          let at = ((ks * params.rows + r) * params.n + c) * select(1u, 2u, SWIGLU);
          part[at] = acc[i * TN4 + j / 4u][j % 4u];
          if (SWIGLU) {
            part[at + 1u] = acc2[i * TN4 + j / 4u][j % 4u];
          }
        }
      }
    }
  }
}

// This invocation's share of the tiles of k step k0: x elements (consecutive invocations read consecutive k of a
// row) and W pairs (one u32 word of 16-bit weights); zeros outside [rows, k] and [n, k].
fn fetch_step(r0: u32, c0: u32, k0: u32, lid: u32) -> Fetched {
  var f: Fetched;
  for (var q = 0u; q < XPT; q++) {
    let i = lid + q * THREADS;
    let gr = r0 + i / BK;
    let gk = k0 + i % BK;
    f.x[q] = 0.0;
    if (i < BM * BK && gr < params.rows && gk < params.k) {
      f.x[q] = x[gr * params.k + gk];
    }
  }
  for (var q = 0u; q < WPT; q++) {
    let i = lid + q * THREADS;
    let c = c0 + i / (BK / 2u);
    let kk = k0 + 2u * (i % (BK / 2u));
    f.w[q] = vec2<f32>(0.0);
    f.w2[q] = vec2<f32>(0.0);
    if (i < BN * BK / 2u) {
      f.w[q] = weight_pair(false, c, kk);
      if (SWIGLU) {
        f.w2[q] = weight_pair(true, c, kk);
      }
    }
  }
  return f;
}
