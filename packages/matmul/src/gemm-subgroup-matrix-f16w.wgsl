// y (+)= x · Wᵀ on tensor cores with float32 fidelity, both operands ready in storage: the 'f16w' variant of
// gemm-subgroup-matrix-presplit.wgsl. x is split as there (row-scale.wgsl, SPLIT); W · w_scale (and W2) is converted
// once per call into f16 16 × 16 fragments (w-f16.wgsl), so the main loop is loads and MMAs only: no workgroup
// memory, no barriers. Costs a pass over W per call and a scratch as large as W (16-bit weights).
// Module = subgroup-matrix.wgsl (or its emulation) + tile header + dtypes + gemm-common.wgsl + gemm-unscale.wgsl +
// subgroup-matrix-epilogue.wgsl + this.
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
@group(0) @binding(7) var<uniform> params: Params;

const XS_STRIDE: u32 = 16u;
const AS: u32 = 16u;
const BM: u32 = SG_M * TM * 16u;
const BN: u32 = SG_N * TN * 16u;
const NSG: u32 = SG_M * SG_N;
const THREADS: u32 = NSG * SUBGROUP;
const STAGE: u32 = select(256u, 512u, PAIRED);
// 2 × 2 accumulators per subgroup without swiglu: held in four named variables (main_2x2). An array of subgroup
// matrices indexed in loops measured 3× slower on the H200 than one accumulator (the driver keeps such arrays out of
// registers), which is what kept the tiles at one accumulator a subgroup.
const UNROLLED_2X2: bool = TM == 2u && TN == 2u && !PAIRED;

var<workgroup> stage: array<f32, NSG * STAGE>;

@compute @workgroup_size(THREADS)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let origin = tile_origin(wid.x + wid.y * nwg.x, BM, BN);
  let r0 = origin.x;
  let c0 = origin.y;
  if (c0 >= params.n) {
    return; // the tail of a 2-D grid (uniform across the workgroup)
  }
  let sg = lid / SUBGROUP;
  let lane = lid % SUBGROUP;
  let sm = sg / SG_N;
  let sn = sg % SG_N;
  let kts = (params.k + 15u) / 16u;
  // Fragment (tile t, k tile kt) starts at (t · kt_count + kt) · 512 in xs (hi, lo) and · 256 in ws.
  let kt_count = ((params.k + 63u) / 64u) * 4u;
  let a_row = (r0 / 16u + sm * TM) * kt_count * 512u;
  let b_col = (c0 / 16u + sn * TN) * kt_count * 256u;

  if (UNROLLED_2X2) {
    main_2x2(r0, c0, sg, lane, sm, sn, kts, a_row, b_col, kt_count);
    return;
  }
  var acc: array<MatResult, TM * TN>;
  var acc2: array<MatResult, TM * TN>;
  for (var i = 0u; i < TM * TN; i++) {
    acc[i] = mat_zero();
    acc2[i] = mat_zero();
  }
  for (var kt = 0u; kt < kts; kt++) {
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

  // Out through workgroup memory (subgroup-matrix-epilogue.wgsl).
  let base = sg * STAGE;
  for (var i = 0u; i < TM; i++) {
    for (var j = 0u; j < TN; j++) {
      store_result(base, acc[i * TN + j]);
      if (SWIGLU) {
        store_result(base + 256u, acc2[i * TN + j]);
      }
      workgroupBarrier();
      emit_block(base, r0 + (sm * TM + i) * 16u, c0 + (sn * TN + j) * 16u, lane);
      workgroupBarrier();
    }
  }
}

// The 2 × 2 tile of one subgroup: per 16 of k, 2 right and 4 left fragments (hi, lo) feed 8 MMAs, where one
// accumulator needs 3 loads for 2.
fn main_2x2(r0: u32, c0: u32, sg: u32, lane: u32, sm: u32, sn: u32, kts: u32, a_row: u32, b_col: u32, kt_count: u32) {
  var acc00 = mat_zero();
  var acc01 = mat_zero();
  var acc10 = mat_zero();
  var acc11 = mat_zero();
  for (var kt = 0u; kt < kts; kt++) {
    let b0 = load_right(b_col + kt * 256u);
    let b1 = load_right(b_col + (kt_count + kt) * 256u);
    let a0 = a_row + kt * 512u;
    let a1 = a_row + (kt_count + kt) * 512u;
    let hi0 = load_left(a0);
    let hi1 = load_left(a1);
    acc00 = mma(hi0, b0, acc00);
    acc01 = mma(hi0, b1, acc01);
    acc10 = mma(hi1, b0, acc10);
    acc11 = mma(hi1, b1, acc11);
    let lo0 = load_left(a0 + 256u);
    let lo1 = load_left(a1 + 256u);
    acc00 = mma(lo0, b0, acc00);
    acc01 = mma(lo0, b1, acc01);
    acc10 = mma(lo1, b0, acc10);
    acc11 = mma(lo1, b1, acc11);
  }
  let base = sg * STAGE;
  let rb = r0 + sm * 32u;
  let cb = c0 + sn * 32u;
  store_result(base, acc00);
  workgroupBarrier();
  emit_block(base, rb, cb, lane);
  workgroupBarrier();
  store_result(base, acc01);
  workgroupBarrier();
  emit_block(base, rb, cb + 16u, lane);
  workgroupBarrier();
  store_result(base, acc10);
  workgroupBarrier();
  emit_block(base, rb + 16u, cb, lane);
  workgroupBarrier();
  store_result(base, acc11);
  workgroupBarrier();
  emit_block(base, rb + 16u, cb + 16u, lane);
  workgroupBarrier();
}
