// y (+)= x · Wᵀ in f32 FMAs on any adapter. Module = tile header + dtypes + gemm-common.wgsl + this.
// A workgroup computes a BM × BN tile of y; each invocation a TM × TN block of it, its rows and columns strided by
// BM / TM and BN / TN so that the lanes of a subgroup read consecutive words of workgroup memory (no bank
// conflicts) and write consecutive columns of y. K advances BK at a time through workgroup memory, where x and W
// are stored k-major (xs[kk][r], ws[kk][c]).

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<u32>;
@group(0) @binding(2) var<storage, read> w2: array<u32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

const THREADS_M: u32 = BM / TM;
const THREADS_N: u32 = BN / TN;
const THREADS: u32 = THREADS_M * THREADS_N;

var<workgroup> xs: array<f32, BK * BM>;
var<workgroup> ws: array<f32, BK * BN>;
var<workgroup> ws2: array<f32, BK * BN>;

@compute @workgroup_size(THREADS)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  // Consecutive workgroups walk down the rows of one column tile, so a tile of W is read from memory about once.
  let tiles_m = (params.rows + BM - 1u) / BM;
  let tile = wid.x + wid.y * nwg.x;
  let r0 = (tile % tiles_m) * BM;
  let c0 = (tile / tiles_m) * BN;
  if (c0 >= params.n) {
    return; // the tail of a 2-D grid (uniform across the workgroup)
  }
  let tr = lid / THREADS_N;
  let tc = lid % THREADS_N;
  var acc: array<f32, TM * TN>;
  var acc2: array<f32, TM * TN>;
  for (var i = 0u; i < TM * TN; i++) {
    acc[i] = 0.0;
    acc2[i] = 0.0;
  }

  for (var k0 = 0u; k0 < params.k; k0 += BK) {
    // x tile: consecutive invocations read consecutive k of a row.
    for (var i = lid; i < BM * BK; i += THREADS) {
      let r = i / BK;
      let kk = i % BK;
      let gr = r0 + r;
      let gk = k0 + kk;
      var v = 0.0;
      if (gr < params.rows && gk < params.k) {
        v = x[gr * params.k + gk];
      }
      xs[kk * BM + r] = v;
    }
    // W tile: pairs of elements (one u32 word of 16-bit weights).
    for (var i = lid; i < BN * BK / 2u; i += THREADS) {
      let c = i / (BK / 2u);
      let kk = 2u * (i % (BK / 2u));
      let p = weight_pair(false, c0 + c, k0 + kk);
      ws[kk * BN + c] = p.x;
      ws[(kk + 1u) * BN + c] = p.y;
      if (SWIGLU) {
        let p2 = weight_pair(true, c0 + c, k0 + kk);
        ws2[kk * BN + c] = p2.x;
        ws2[(kk + 1u) * BN + c] = p2.y;
      }
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      var a: array<f32, TM>;
      var b: array<f32, TN>;
      for (var i = 0u; i < TM; i++) {
        a[i] = xs[kk * BM + tr + i * THREADS_M];
      }
      for (var j = 0u; j < TN; j++) {
        b[j] = ws[kk * BN + tc + j * THREADS_N];
      }
      for (var i = 0u; i < TM; i++) {
        for (var j = 0u; j < TN; j++) {
          acc[i * TN + j] = fma(a[i], b[j], acc[i * TN + j]);
        }
      }
      if (SWIGLU) {
        for (var j = 0u; j < TN; j++) {
          b[j] = ws2[kk * BN + tc + j * THREADS_N];
        }
        for (var i = 0u; i < TM; i++) {
          for (var j = 0u; j < TN; j++) {
            acc2[i * TN + j] = fma(a[i], b[j], acc2[i * TN + j]);
          }
        }
      }
    }
    workgroupBarrier();
  }

  for (var i = 0u; i < TM; i++) {
    let r = r0 + tr + i * THREADS_M;
    for (var j = 0u; j < TN; j++) {
      let c = c0 + tc + j * THREADS_N;
      if (r < params.rows && c < params.n) {
        store_out(r, c, acc[i * TN + j], acc2[i * TN + j]);
      }
    }
  }
}
