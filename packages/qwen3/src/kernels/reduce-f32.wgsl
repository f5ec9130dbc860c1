// Workgroup-wide sum (or max) of one f32 per thread; every thread gets the result. Prepended to kernels that declare
// WG (their workgroup size, a power of two).

var<workgroup> red_f: array<f32, WG>;

fn reduce_f(v: f32, lid: u32, is_max: bool) -> f32 {
  red_f[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      red_f[lid] = select(red_f[lid] + red_f[lid + s], max(red_f[lid], red_f[lid + s]), is_max);
    }
    workgroupBarrier();
  }
  let r = red_f[0];
  workgroupBarrier();
  return r;
}
