// Shared by both RMSNorm kernels (rmsnorm.wgsl: any layout; rmsnorm-vec4.wgsl: 16-byte aligned rows).
//
// Overflow: the statistics are Σx² and max|x| in plain f32. A row whose Σx² overflows (|x| near the bf16/f32
// maximum) sets a workgroup flag; the workgroup then recomputes that row's Σ(x·2^-e)², with 2^e the binary
// exponent of its max|x| (ldexp: exact), and writes y = (x·2^-e) / sqrt(s/n + eps·2^-2e) · w. Ordinary rows pay
// for none of this.

// split_row0 (rmsnorm-vec4.wgsl with SPLIT): where this dispatch's row 0 goes in the split (calls over bindings).
// sums_splits, sums_shift (rmsnorm-vec4-add.wgsl): the k-split sums added into x, and their exponent shift.
struct Params {
  rows: u32,
  n: u32,
  x_offset: u32,
  x_stride: u32,
  y_offset: u32,
  y_stride: u32,
  eps: f32,
  split_row0: u32,
  sums_splits: u32,
  sums_shift: i32,
}

// F32 / BF16 / F16 and unpack_half come from the tensor package's dtypes.wgsl, prepended to the module.
override X_DTYPE: u32 = F32;
override W_DTYPE: u32 = F32;
override WG: u32 = 256u;
// Threads per row, a power of two dividing WG; a workgroup handles WG / TPR rows.
override TPR: u32 = 256u;

const MAX_F32: f32 = 0x1.fffffep+127f;

// Row statistics: sum of squares and largest magnitude.
struct Stats {
  s: f32,
  m: f32,
}

fn combine(a: Stats, b: Stats) -> Stats {
  return Stats(a.s + b.s, max(a.m, b.m));
}

fn add_value(p: Stats, v: f32) -> Stats {
  return Stats(fma(v, v, p.s), max(p.m, abs(v)));
}

// Binary exponent e with max|x| = f · 2^e, f in [0.5, 1); 0 for rows that need no rescaling.
fn rescale_exponent(total: Stats) -> i32 {
  if (total.s > MAX_F32) {
    return frexp(total.m).exp;
  }
  return 0;
}

// Set when some row of the workgroup needs rescaling (workgroup memory starts zeroed).
var<workgroup> rescue: atomic<u32>;
