// The tail of rmsnorm-vec4.wgsl that also writes y split for the tensor-core GEMM (RmsNormArgs.split): the split's
// bindings and stores (layout: @qwen3-webgpu/tensor's x-split.wgsl, prepended to the module).

@group(0) @binding(3) var<storage, read_write> xs: array<u32>;
@group(0) @binding(4) var<storage, read_write> row_exp: array<i32>;
@group(0) @binding(5) var<uniform> params: Params;

const SPLIT: bool = true;

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
