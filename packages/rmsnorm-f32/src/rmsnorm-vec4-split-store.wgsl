// The split's stores (RmsNormArgs.split), after a tail that binds xs and row_exp: rmsnorm-vec4-split.wgsl or
// rmsnorm-vec4-add.wgsl.

fn split_store_exp(row: u32, e: i32) {
  row_exp[row] = e;
}

// Unit j of a row already scaled: columns 4j … 4j + 3, two pairs in adjacent words (a 16-column tile holds them).
fn split_store_unit(row: u32, j: u32, v: vec4<f32>, kt_count: u32) {
  let a = split_pair(v.xy);
  let b = split_pair(v.zw);
  let at = split_word(row, 4u * j, kt_count);
  xs[at] = a.x;
  xs[at + 1u] = b.x;
  xs[at + 128u] = a.y;
  xs[at + 129u] = b.y;
}
