// y (+)= x · Wᵀ on tensor cores (16 × 16 × 16 f16 subgroup matrices, f32 accumulators) with float32 fidelity.
// Module = subgroup-matrix.wgsl (or its emulation) + tile header + dtypes + gemm-common.wgsl + gemm-unscale.wgsl +
// subgroup-matrix-epilogue.wgsl + x-split.wgsl + this.
// The first tensor-core kernel ('inline' variant): x is split in every column tile, scalar loads; kept to compare
// with gemm-subgroup-matrix-presplit.wgsl.
//
// Why it stays f32-exact: every weight of W · w_scale is an f16 normal (checked once per tensor, weight-range.wgsl;
// else the FMA kernel runs), so W enters the tensor cores exactly. x is not f16: each row is first scaled by the
// power of two 2^-t (row-scale.wgsl) that puts its largest |x| in [2^14, 2^15), then split as hi = f16(x'),
// lo = f16(x' − hi), and both products are accumulated in f32: x' = hi + lo to ≈ 2^-22 relative, and an element too
// small for lo to keep its bits is below 2^-24 of the row's largest (negligible in the dot product). The scales
// are powers of two, so dividing them out at the end (ldexp) is exact.
//
// A workgroup of SG_M × SG_N subgroups computes a BM × BN tile of y; each subgroup a (TM·16) × (TN·16) block of it,
// as TM × TN accumulator matrices. K advances BK at a time through workgroup memory: xs [hi, lo][r][kk] (row-major
// left operands), ws [c][kk] (= Wᵀ column-major, the right operand).

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<u32>;
@group(0) @binding(2) var<storage, read> w2: array<u32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read> row_exp: array<i32>;
@group(0) @binding(5) var<uniform> params: Params;

const BK: u32 = 32u;
// Row stride of the f16 tiles, padded by 8 elements (16 bytes) so that consecutive rows start in different banks.
const AS: u32 = BK + 8u;
const BM: u32 = SG_M * TM * 16u;
const BN: u32 = SG_N * TN * 16u;
const NSG: u32 = SG_M * SG_N;
const THREADS: u32 = NSG * SUBGROUP;
const LO: u32 = BM * AS;
const XS_STRIDE: u32 = AS;

// Left operands: the hi tile [BM][AS], then the lo tile at LO.
var<workgroup> xs: array<f16, 2u * BM * AS>;
var<workgroup> ws: array<f16, BN * AS>;
var<workgroup> ws2: array<f16, BN * AS>;
var<workgroup> row_mul: array<f32, BM>;
// Per subgroup: one gate and one up accumulator on their way out (row-major 16 × 16 f32 each).
var<workgroup> stage: array<f32, NSG * 512u>;

@compute @workgroup_size(THREADS)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let origin = tile_origin(wid.x + wid.y * nwg.x, BM, BN);
  let r0 = origin.x;
  let c0 = origin.y;
  if (c0 >= params.n) {
    return; // the tail of a 2-D grid (uniform across the workgroup)
  }
  // Subgroup sg of the workgroup: invocations sg·SUBGROUP … (the adapter's subgroups are that size, gemm.ts checks).
  let sg = lid / SUBGROUP;
  let lane = lid % SUBGROUP;
  let sm = sg / SG_N;
  let sn = sg % SG_N;

  for (var i = lid; i < BM; i += THREADS) {
    let r = min(r0 + i, params.rows - 1u);
    row_mul[i] = ldexp(1.0, -row_exp[r]);
  }

  var acc: array<MatResult, TM * TN>;
  var acc2: array<MatResult, TM * TN>;
  for (var i = 0u; i < TM * TN; i++) {
    acc[i] = mat_zero();
    acc2[i] = mat_zero();
  }
  workgroupBarrier();

  for (var k0 = 0u; k0 < params.k; k0 += BK) {
    // x tile → hi and lo halves; consecutive invocations read consecutive k of a row.
    for (var i = lid; i < BM * BK; i += THREADS) {
      let r = i / BK;
      let kk = i % BK;
      let gr = r0 + r;
      let gk = k0 + kk;
      var v = 0.0;
      if (gr < params.rows && gk < params.k) {
        v = x[gr * params.k + gk] * row_mul[r];
      }
      let hi = split_hi(v);
      xs[r * AS + kk] = f16(hi);
      xs[LO + r * AS + kk] = f16(v - hi);
    }
    // W tile → f16, exactly (the scale is a power of two and the range was checked).
    for (var i = lid; i < BN * BK / 2u; i += THREADS) {
      let c = i / (BK / 2u);
      let kk = 2u * (i % (BK / 2u));
      let p = weight_pair(false, c0 + c, k0 + kk) * params.w_scale;
      ws[c * AS + kk] = f16(p.x);
      ws[c * AS + kk + 1u] = f16(p.y);
      if (SWIGLU) {
        let p2 = weight_pair(true, c0 + c, k0 + kk) * params.w2_scale;
        ws2[c * AS + kk] = f16(p2.x);
        ws2[c * AS + kk + 1u] = f16(p2.y);
      }
    }
    workgroupBarrier();
    for (var kq = 0u; kq < BK; kq += 16u) {
      var b: array<MatRight, TN>;
      for (var j = 0u; j < TN; j++) {
        b[j] = load_right(((sn * TN + j) * 16u) * AS + kq);
      }
      var b2: array<MatRight, TN>;
      if (SWIGLU) {
        for (var j = 0u; j < TN; j++) {
          b2[j] = load_right2(((sn * TN + j) * 16u) * AS + kq);
        }
      }
      for (var i = 0u; i < TM; i++) {
        let at = ((sm * TM + i) * 16u) * AS + kq;
        let a_hi = load_left(at);
        let a_lo = load_left(LO + at);
        for (var j = 0u; j < TN; j++) {
          acc[i * TN + j] = mma(a_hi, b[j], acc[i * TN + j]);
          acc[i * TN + j] = mma(a_lo, b[j], acc[i * TN + j]);
          if (SWIGLU) {
            acc2[i * TN + j] = mma(a_hi, b2[j], acc2[i * TN + j]);
            acc2[i * TN + j] = mma(a_lo, b2[j], acc2[i * TN + j]);
          }
        }
      }
    }
    workgroupBarrier();
  }

  // Out through workgroup memory (subgroup-matrix-epilogue.wgsl).
  let base = sg * 512u;
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
