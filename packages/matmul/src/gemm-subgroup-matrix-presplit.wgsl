// y (+)= x · Wᵀ on tensor cores (16 × 16 × 16 f16 subgroup matrices, f32 accumulators) with float32 fidelity, on
// x split once per call. Module = subgroup-matrix.wgsl (or its emulation) + tile header + dtypes +
// gemm-common.wgsl + gemm-unscale.wgsl + subgroup-matrix-epilogue.wgsl + subgroup-matrix-split-k.wgsl + this.
//
// Numerics as in gemm-subgroup-matrix.wgsl (W · w_scale exact in f16; x scaled per row by 2^-t and split
// hi + lo; both products in f32; scales divided out exactly), but the split is done once per call by row-scale.wgsl
// (SPLIT), which writes the left operands as ready 16 × 16 f16 fragments:
//   xs: [rows_pad / 16][kt_count][hi, lo][16][16] f16, kt_count = 4 · ceil(k / 64), zero past column k
// so the main loop reads them straight from storage with subgroupMatrixLoad (512 contiguous bytes each, shared by
// the SG_N subgroups of a row through the caches), and only W passes through workgroup memory.
//
// A workgroup of SG_M × SG_N subgroups computes a BM × BN tile of y, each subgroup TM × TN 16 × 16 accumulators.
// K advances BK at a time. Per step each invocation first loads its share of the next W tile into registers (8
// weights per 16-byte group, raw), then the subgroups multiply the current step (right operands from ws, left ones
// from storage, 2 · TM · TN MMAs per 16 of k: hi and lo), then the prefetched W is converted to f16 and stored into
// the other half of ws: one barrier per step, the W loads in flight behind the MMAs. With PREFETCH_A the left
// fragments are also loaded a step ahead, into registers (else each right before its MMAs).

@group(0) @binding(0) var<storage, read> xs: array<f16>;
@group(0) @binding(1) var<storage, read> w: array<u32>;
@group(0) @binding(2) var<storage, read> w2: array<u32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read> row_exp: array<i32>;
// SPLIT_K > 1: [SPLIT_K][rows][n][gate, up] raw sums, one k slice per workgroup (split-k-reduce.wgsl finishes).
@group(0) @binding(5) var<storage, read_write> part: array<f32>;
@group(0) @binding(6) var<uniform> params: Params;

// Every 8-weight group of a row is 4 whole u32 words inside the row (16-bit weights, k % 8 == 0) or 8 (f32,
// k % 4 == 0, a group may end at the row's end); else each weight is fetched on its own with bounds checks.
override W_VEC: bool = false;

const XS_STRIDE: u32 = 16u;
// Row stride of the W tiles, padded by 8 elements (16 bytes) so that the 16 rows a matrix load reads start in
// different banks.
const AS: u32 = BK + 8u;
const BM: u32 = SG_M * TM * 16u;
const BN: u32 = SG_N * TN * 16u;
const NSG: u32 = SG_M * SG_N;
const THREADS: u32 = NSG * SUBGROUP;
const KQ: u32 = BK / 16u;
const GROUPS_PER_ROW: u32 = BK / 8u;
const GROUPS_PER_THREAD: u32 = (BN * GROUPS_PER_ROW + THREADS - 1u) / THREADS;
const WS_LEN: u32 = 2u * BN * AS; // two buffers
// PREFETCH_A: a step's left fragments per subgroup, held in registers one step ahead ([kq][i][hi, lo]).
const A_REGS: u32 = select(1u, KQ * TM * 2u, PREFETCH_A);
// Per subgroup: one accumulator (and its up partner, PAIRED) on its way out.
const STAGE: u32 = select(256u, 512u, PAIRED);

var<workgroup> ws: array<f16, WS_LEN>;
// Without swiglu ws2 is never touched, but Dawn checks statically that it can hold one matrix load.
var<workgroup> ws2: array<f16, select(16u * AS, WS_LEN, PAIRED)>;
var<workgroup> stage: array<f32, NSG * STAGE>;

// 8 consecutive weights of a row as loaded: raw words (W_VEC, 16-bit: a only) or f32 bits (a, then b).
struct WGroup {
  a: vec4<u32>,
  b: vec4<u32>,
}

// Word i of W, or of W2 when `second`.
fn w_word(second: bool, i: u32) -> u32 {
  if (second) {
    return w2[i];
  }
  return w[i];
}

// Weights (c, kk … kk + 7) of W (or W2); zeros past the edges of W.
fn load_group(second: bool, c: u32, kk: u32) -> WGroup {
  var g: WGroup;
  if (c >= params.n || kk >= params.k) {
    return g;
  }
  if (W_VEC && W_DTYPE != F32) {
    let i = (c * params.k + kk) >> 1u;
    g.a = vec4<u32>(w_word(second, i), w_word(second, i + 1u), w_word(second, i + 2u), w_word(second, i + 3u));
  } else if (W_VEC) {
    let i = c * params.k + kk;
    g.a = vec4<u32>(w_word(second, i), w_word(second, i + 1u), w_word(second, i + 2u), w_word(second, i + 3u));
    if (kk + 4u < params.k) {
      g.b = vec4<u32>(w_word(second, i + 4u), w_word(second, i + 5u), w_word(second, i + 6u), w_word(second, i + 7u));
    }
  } else {
    let p0 = weight_pair(second, c, kk);
    let p1 = weight_pair(second, c, kk + 2u);
    let p2 = weight_pair(second, c, kk + 4u);
    let p3 = weight_pair(second, c, kk + 6u);
    g.a = bitcast<vec4<u32>>(vec4<f32>(p0, p1));
    g.b = bitcast<vec4<u32>>(vec4<f32>(p2, p3));
  }
  return g;
}

// Converts a group to f16 (times the tensor's power-of-two scale: exact, prepare() checked the range) and stores
// it at ws[at …] (ws2 when `second`).
fn store_group(second: bool, at: u32, g: WGroup, scale: f32) {
  var even: vec4<f32>;
  var odd: vec4<f32>;
  if (W_VEC && W_DTYPE == BF16) {
    // Low halves are the even elements, high halves the odd ones.
    even = bitcast<vec4<f32>>(g.a << vec4<u32>(16u));
    odd = bitcast<vec4<f32>>(g.a & vec4<u32>(0xffff0000u));
  } else if (W_VEC && W_DTYPE == F16) {
    let p01 = vec4<f32>(unpack2x16float(g.a.x), unpack2x16float(g.a.y));
    let p23 = vec4<f32>(unpack2x16float(g.a.z), unpack2x16float(g.a.w));
    even = vec4<f32>(p01.xz, p23.xz);
    odd = vec4<f32>(p01.yw, p23.yw);
  } else {
    let lo = bitcast<vec4<f32>>(g.a);
    let hi = bitcast<vec4<f32>>(g.b);
    even = vec4<f32>(lo.xz, hi.xz);
    odd = vec4<f32>(lo.yw, hi.yw);
  }
  let e = vec4<f16>(even * scale);
  let o = vec4<f16>(odd * scale);
  if (second) {
    ws2[at] = e.x;
    ws2[at + 1u] = o.x;
    ws2[at + 2u] = e.y;
    ws2[at + 3u] = o.y;
    ws2[at + 4u] = e.z;
    ws2[at + 5u] = o.z;
    ws2[at + 6u] = e.w;
    ws2[at + 7u] = o.w;
  } else {
    ws[at] = e.x;
    ws[at + 1u] = o.x;
    ws[at + 2u] = e.y;
    ws[at + 3u] = o.y;
    ws[at + 4u] = e.z;
    ws[at + 5u] = o.z;
    ws[at + 6u] = e.w;
    ws[at + 7u] = o.w;
  }
}

// The left fragments of KQ k tiles from kt0 on, for this subgroup's TM row tiles (a_row: see main).
fn load_step_a(a_row: u32, kt0: u32, kt_count: u32) -> array<MatLeft, A_REGS> {
  var a: array<MatLeft, A_REGS>;
  for (var kq = 0u; kq < KQ; kq++) {
    for (var i = 0u; i < TM; i++) {
      let at = a_row + (i * kt_count + kt0 + kq) * 512u;
      a[(kq * TM + i) * 2u] = load_left(at);
      a[(kq * TM + i) * 2u + 1u] = load_left(at + 256u);
    }
  }
  return a;
}

@compute @workgroup_size(THREADS)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  // With SPLIT_K, slice ks of k comes after all tiles of slice ks − 1 (subgroup-matrix-split-k.wgsl).
  let place = tile_and_slice(wid.x + wid.y * nwg.x, BM, BN);
  let ks = place.y;
  if (ks >= SPLIT_K) {
    return; // the tail of a 2-D grid (uniform across the workgroup)
  }
  let origin = tile_origin(place.x, BM, BN);
  let r0 = origin.x;
  let c0 = origin.y;
  // Subgroup sg of the workgroup: invocations sg·SUBGROUP … (the adapter's subgroups are that size, gemm.ts checks).
  let sg = lid / SUBGROUP;
  let lane = lid % SUBGROUP;
  let sm = sg / SG_N;
  let sn = sg % SG_N;
  // This workgroup's k steps: [s0, s1) (all of them without SPLIT_K; a slice may be empty).
  let slice = k_slice(ks, (params.k + BK - 1u) / BK);
  let s0 = slice.x;
  let s1 = slice.y;
  // Fragment (row tile rt, k tile kt, half h) of xs starts at ((rt · kt_count + kt) · 2 + h) · 256.
  let kt_count = ((params.k + 63u) / 64u) * 4u;
  let a_row = (r0 / 16u + sm * TM) * kt_count * 512u;

  var acc: array<MatResult, TM * TN>;
  var acc2: array<MatResult, TM * TN>;
  for (var i = 0u; i < TM * TN; i++) {
    acc[i] = mat_zero();
    acc2[i] = mat_zero();
  }

  // The first step's W tile into the first half of ws.
  var wg: array<WGroup, GROUPS_PER_THREAD>;
  var wg2: array<WGroup, GROUPS_PER_THREAD>;
  for (var q = 0u; q < GROUPS_PER_THREAD; q++) {
    let g = lid + q * THREADS;
    if (g < BN * GROUPS_PER_ROW) {
      let c = g / GROUPS_PER_ROW;
      let kk = (g % GROUPS_PER_ROW) * 8u;
      store_group(false, c * AS + kk, load_group(false, c0 + c, s0 * BK + kk), params.w_scale);
      if (SWIGLU) {
        store_group(true, c * AS + kk, load_group(true, c0 + c, s0 * BK + kk), params.w2_scale);
      }
    }
  }
  var a: array<MatLeft, A_REGS>;
  if (PREFETCH_A) {
    a = load_step_a(a_row, s0 * KQ, kt_count);
  }
  workgroupBarrier();

  for (var step = s0; step < s1; step++) {
    let cur = ((step - s0) & 1u) * BN * AS;
    let more = step + 1u < s1;
    let k_next = (step + 1u) * BK;
    // Prefetch step + 1's W groups, raw (and its left fragments, PREFETCH_A): in flight while this step multiplies.
    var a_next: array<MatLeft, A_REGS>;
    if (more && PREFETCH_A) {
      a_next = load_step_a(a_row, (step + 1u) * KQ, kt_count);
    }
    if (more) {
      for (var q = 0u; q < GROUPS_PER_THREAD; q++) {
        let g = lid + q * THREADS;
        let c = c0 + g / GROUPS_PER_ROW;
        let kk = k_next + (g % GROUPS_PER_ROW) * 8u;
        if (g < BN * GROUPS_PER_ROW) {
          wg[q] = load_group(false, c, kk);
          if (SWIGLU) {
            wg2[q] = load_group(true, c, kk);
          }
        }
      }
    }

    for (var kq = 0u; kq < KQ; kq++) {
      var b: array<MatRight, TN>;
      var b2: array<MatRight, TN>;
      for (var j = 0u; j < TN; j++) {
        let at = cur + (sn * TN + j) * 16u * AS + kq * 16u;
        b[j] = load_right(at);
        if (SWIGLU) {
          b2[j] = load_right2(at);
        }
      }
      // Per row block: the hi products, then the lo ones (independent MMAs between each pair of a chain).
      for (var i = 0u; i < TM; i++) {
        var hi: MatLeft;
        var lo: MatLeft;
        if (PREFETCH_A) {
          hi = a[(kq * TM + i) * 2u];
          lo = a[(kq * TM + i) * 2u + 1u];
        } else {
          let at = a_row + (i * kt_count + step * KQ + kq) * 512u;
          hi = load_left(at);
          lo = load_left(at + 256u);
        }
        for (var j = 0u; j < TN; j++) {
          acc[i * TN + j] = mma(hi, b[j], acc[i * TN + j]);
          if (SWIGLU) {
            acc2[i * TN + j] = mma(hi, b2[j], acc2[i * TN + j]);
          }
        }
        for (var j = 0u; j < TN; j++) {
          acc[i * TN + j] = mma(lo, b[j], acc[i * TN + j]);
          if (SWIGLU) {
            acc2[i * TN + j] = mma(lo, b2[j], acc2[i * TN + j]);
          }
        }
      }
    }

    if (more) {
      let next = BN * AS - cur;
      for (var q = 0u; q < GROUPS_PER_THREAD; q++) {
        let g = lid + q * THREADS;
        if (g < BN * GROUPS_PER_ROW) {
          let at = next + (g / GROUPS_PER_ROW) * AS + (g % GROUPS_PER_ROW) * 8u;
          store_group(false, at, wg[q], params.w_scale);
          if (SWIGLU) {
            store_group(true, at, wg2[q], params.w2_scale);
          }
        }
      }
      if (PREFETCH_A) {
        a = a_next;
      }
    }
    workgroupBarrier();
  }

  // Out through workgroup memory (subgroup-matrix-epilogue.wgsl).
  let base = sg * STAGE;
  for (var i = 0u; i < TM; i++) {
    for (var j = 0u; j < TN; j++) {
      store_result(base, acc[i * TN + j]);
      if (SWIGLU) {
        store_result(base + 256u, acc2[i * TN + j]);
      }
      workgroupBarrier();
      emit_tile(base, r0 + (sm * TM + i) * 16u, c0 + (sn * TN + j) * 16u, lane, ks);
      workgroupBarrier();
    }
  }
}
