// y (+)= x · Wᵀ on tensor cores with float32 fidelity, both operands ready in storage: the 'f16w' variant of
// gemm-subgroup-matrix-presplit.wgsl. x is split as there (row-scale.wgsl, SPLIT); W · w_scale (and W2) is converted
// once per call into f16 16 × 16 fragments (w-f16.wgsl), so the main loop is loads and MMAs only: no workgroup
// memory, no barriers. Costs a pass over W per call and a scratch as large as W (16-bit weights). With SPLIT_K > 1
// each of SPLIT_K workgroups per output tile sums a slice of k into `part` (subgroup-matrix-split-k.wgsl).
// Module = subgroup-matrix.wgsl (or its emulation) + tile header + dtypes + gemm-common.wgsl + gemm-unscale.wgsl +
// subgroup-matrix-epilogue.wgsl + subgroup-matrix-split-k.wgsl + this.
//   xs: [rows_pad / 16][kt_count][hi, lo][16][16] f16;  ws, ws2: [n_pad / 16][kt_count][16 (c)][16 (k)] f16
// (ws is Wᵀ column-major per fragment; the names and AS are the ones subgroup-matrix.wgsl's loads use.)

@group(0) @binding(0) var<storage, read> xs: array<f16>;
// gemm-common.wgsl reads raw weights through w and w2; this kernel does not (they are bound all the same).
@group(0) @binding(1) var<storage, read> w: array<u32>;
@group(0) @binding(2) var<storage, read> w2: array<u32>;
@group(0) @binding(3) var<storage, read> ws: array<f16>;
@group(0) @binding(4) var<storage, read> ws2: array<f16>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;
@group(0) @binding(6) var<storage, read> row_exp: array<i32>;
@group(0) @binding(7) var<storage, read_write> part: array<f32>;
@group(0) @binding(8) var<uniform> params: Params;

const XS_STRIDE: u32 = 16u;
const AS: u32 = 16u;
const BM: u32 = SG_M * TM * 16u;
const BN: u32 = SG_N * TN * 16u;
const NSG: u32 = SG_M * SG_N;
const THREADS: u32 = NSG * SUBGROUP;
const STAGE: u32 = select(256u, 512u, PAIRED);
// 2 × 2 accumulators per subgroup (and 2 × 2 more for swiglu's up projection): held in named variables (main_2x2).
// An array of subgroup matrices indexed in loops measured 3× slower on the H200 than one accumulator (the driver
// keeps such arrays out of registers), which is what kept the tiles at one accumulator a subgroup.
const UNROLLED_2X2: bool = TM == 2u && TN == 2u;

var<workgroup> stage: array<f32, NSG * STAGE>;

@compute @workgroup_size(THREADS)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let place = tile_and_slice(wid.x + wid.y * nwg.x, BM, BN);
  let ks = place.y;
  if (ks >= SPLIT_K) {
    return; // the tail of a 2-D grid (uniform across the workgroup)
  }
  let origin = tile_origin(place.x, BM, BN);
  let r0 = origin.x;
  let c0 = origin.y;
  let sg = lid / SUBGROUP;
  let lane = lid % SUBGROUP;
  let sm = sg / SG_N;
  let sn = sg % SG_N;
  // This workgroup's k steps of 16: [slice.x, slice.y) (may be empty on ragged shapes: it then emits zeros).
  let slice = k_slice(ks, (params.k + 15u) / 16u);
  // Fragment (tile t, k tile kt) starts at (t · kt_count + kt) · 512 in xs (hi, lo) and · 256 in ws.
  let kt_count = ((params.k + 63u) / 64u) * 4u;
  let a_row = (r0 / 16u + sm * TM) * kt_count * 512u;
  let b_col = (c0 / 16u + sn * TN) * kt_count * 256u;
  let out = Out(sg * STAGE, r0 + sm * TM * 16u, c0 + sn * TN * 16u, lane, ks);

  if (UNROLLED_2X2) {
    main_2x2(out, slice, a_row, b_col, kt_count);
    return;
  }
  var acc: array<MatResult, TM * TN>;
  var acc2: array<MatResult, TM * TN>;
  for (var i = 0u; i < TM * TN; i++) {
    acc[i] = mat_zero();
    acc2[i] = mat_zero();
  }
  for (var kt = slice.x; kt < slice.y; kt++) {
    var b: array<MatRight, TN>;
    var b2: array<MatRight, TN>;
    for (var j = 0u; j < TN; j++) {
      let at = b_col + (j * kt_count + kt) * 256u;
      b[j] = load_right(at);
      if (SWIGLU) {
        b2[j] = load_right2(at);
      }
    }
    for (var i = 0u; i < TM; i++) {
      let at = a_row + (i * kt_count + kt) * 512u;
      let hi = load_left(at);
      let lo = load_left(at + 256u);
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
  for (var i = 0u; i < TM; i++) {
    for (var j = 0u; j < TN; j++) {
      emit_result(out, i, j, acc[i * TN + j], acc2[i * TN + j]);
    }
  }
}

// Where a subgroup's accumulators go: its stage at `base`, its 16 × 16 block (0, 0) of y at (r, c), k slice ks.
struct Out {
  base: u32,
  r: u32,
  c: u32,
  lane: u32,
  ks: u32,
}

// Accumulator (i, j) of a subgroup (g; u: swiglu's up projection, else unused) out through workgroup memory
// (subgroup-matrix-epilogue.wgsl), or into its k slice of part.
fn emit_result(out: Out, i: u32, j: u32, g: MatResult, u: MatResult) {
  store_result(out.base, g);
  if (SWIGLU) {
    store_result(out.base + 256u, u);
  }
  workgroupBarrier();
  emit_tile(out.base, out.r + i * 16u, out.c + j * 16u, out.lane, out.ks);
  workgroupBarrier();
}

// The 2 × 2 tile of one subgroup: per 16 of k, 2 right and 4 left fragments (hi, lo) feed 8 MMAs, where one
// accumulator needs 3 loads for 2. With swiglu (PAIRED, a module const, so the up half folds away without it) the up
// projection's 2 × 2 accumulators join: 2 more right fragments (W2) and 8 more MMAs, each after its gate partner.
fn main_2x2(out: Out, slice: vec2<u32>, a_row: u32, b_col: u32, kt_count: u32) {
  var gate00 = mat_zero();
  var gate01 = mat_zero();
  var gate10 = mat_zero();
  var gate11 = mat_zero();
  var up00 = mat_zero();
  var up01 = mat_zero();
  var up10 = mat_zero();
  var up11 = mat_zero();
  for (var kt = slice.x; kt < slice.y; kt++) {
    let at0 = b_col + kt * 256u;
    let at1 = b_col + (kt_count + kt) * 256u;
    let b0 = load_right(at0);
    let b1 = load_right(at1);
    var u0 = b0;
    var u1 = b1;
    if (PAIRED) {
      u0 = load_right2(at0);
      u1 = load_right2(at1);
    }
    let a0 = a_row + kt * 512u;
    let a1 = a_row + (kt_count + kt) * 512u;
    let hi0 = load_left(a0);
    let hi1 = load_left(a1);
    gate00 = mma(hi0, b0, gate00);
    gate01 = mma(hi0, b1, gate01);
    gate10 = mma(hi1, b0, gate10);
    gate11 = mma(hi1, b1, gate11);
    if (PAIRED) {
      up00 = mma(hi0, u0, up00);
      up01 = mma(hi0, u1, up01);
      up10 = mma(hi1, u0, up10);
      up11 = mma(hi1, u1, up11);
    }
    let lo0 = load_left(a0 + 256u);
    let lo1 = load_left(a1 + 256u);
    gate00 = mma(lo0, b0, gate00);
    gate01 = mma(lo0, b1, gate01);
    gate10 = mma(lo1, b0, gate10);
    gate11 = mma(lo1, b1, gate11);
    if (PAIRED) {
      up00 = mma(lo0, u0, up00);
      up01 = mma(lo0, u1, up01);
      up10 = mma(lo1, u0, up10);
      up11 = mma(lo1, u1, up11);
    }
  }
  // Without swiglu the up accumulators are not read.
  emit_result(out, 0u, 0u, gate00, up00);
  emit_result(out, 0u, 1u, gate01, up01);
  emit_result(out, 1u, 0u, gate10, up10);
  emit_result(out, 1u, 1u, gate11, up11);
}
