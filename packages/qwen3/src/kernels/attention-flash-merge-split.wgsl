// emit_split of attention-flash-merge.wgsl: row t of out (this invocation's pairs v, m its largest |value| as bits)
// into xs and row_exp, x-split.wgsl's layout with k = NH·HD (o_proj's GemmArgs.xSplit).

@group(0) @binding(2) var<storage, read_write> xs: array<u32>;
@group(0) @binding(3) var<storage, read_write> row_exp: array<i32>;
@group(0) @binding(4) var<uniform> params: Params;

var<workgroup> red: array<u32, WG>;

fn emit_split(t: u32, lid: u32, v: array<vec2<f32>, PPT>, m: u32) {
  red[lid] = m;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) {
      red[lid] = max(red[lid], red[lid + stride]);
    }
    workgroupBarrier();
  }
  let e = split_row_exp(red[0]);
  if (lid == 0u) {
    row_exp[t] = e;
  }
  let mul = ldexp(1.0, -e);
  let kt_count = split_kt_count(NH * HD);
  // Pairs past the row (k padded to a multiple of 64) are zeros.
  for (var j = 0u; j < PPT; j++) {
    let p = lid + j * WG;
    if (p < kt_count * 8u) {
      let words = split_pair(select(vec2<f32>(0.0), v[j] * mul, p < PAIRS));
      let at = split_word(t, 2u * p, kt_count);
      xs[at] = words.x;
      xs[at + 128u] = words.y;
    }
  }
}
