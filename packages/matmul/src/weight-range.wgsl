// What decides whether a weight tensor can enter the tensor cores exactly: over all elements of W, the largest and
// the smallest nonzero biased f32 exponent, whether any element needs more than f16's 11 significant bits, and
// whether any is inf or NaN. weight-range.ts turns this into a power-of-two scale (or a fallback to the FMA path).
//   W: [count] W_DTYPE (packed u32 words)  →  out: [4] u32 {max exponent, min nonzero exponent, wide mantissa, non-finite}

struct Params {
  count: u32,
  words: u32,
}

@group(0) @binding(0) var<storage, read> w: array<u32>;
@group(0) @binding(1) var<storage, read_write> out: array<atomic<u32>, 4>;
@group(0) @binding(2) var<uniform> params: Params;

override W_DTYPE: u32 = BF16;
const WG: u32 = 256u;

var<workgroup> wg_max: atomic<u32>;
var<workgroup> wg_min: atomic<u32>;
var<workgroup> wg_wide: atomic<u32>;
var<workgroup> wg_bad: atomic<u32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  if (lid == 0u) {
    atomicStore(&wg_max, 0u);
    atomicStore(&wg_min, 255u);
    atomicStore(&wg_wide, 0u);
    atomicStore(&wg_bad, 0u);
  }
  workgroupBarrier();
  var emax = 0u;
  var emin = 255u;
  var wide = 0u;
  var bad = 0u;
  let threads = nwg.x * WG;
  for (var i = gid.x; i < params.words; i += threads) {
    let word = w[i];
    for (var h = 0u; h < 2u; h++) {
      var bits: u32;
      var present = true;
      if (W_DTYPE == F32) {
        bits = word;
        present = h == 0u;
      } else {
        bits = bitcast<u32>(unpack_half(word, h, W_DTYPE));
        present = 2u * i + h < params.count;
      }
      let e = (bits >> 23u) & 0xffu;
      if (present && (bits & 0x7fffffffu) != 0u) {
        emax = max(emax, e);
        emin = min(emin, e);
        wide |= u32((bits & 0x1fffu) != 0u); // f16 keeps 10 of f32's 23 mantissa bits
        bad |= u32(e == 255u);
      }
    }
  }
  atomicMax(&wg_max, emax);
  atomicMin(&wg_min, emin);
  atomicOr(&wg_wide, wide);
  atomicOr(&wg_bad, bad);
  workgroupBarrier();
  if (lid == 0u) {
    atomicMax(&out[0], atomicLoad(&wg_max));
    atomicMin(&out[1], atomicLoad(&wg_min));
    atomicOr(&out[2], atomicLoad(&wg_wide));
    atomicOr(&out[3], atomicLoad(&wg_bad));
  }
}
