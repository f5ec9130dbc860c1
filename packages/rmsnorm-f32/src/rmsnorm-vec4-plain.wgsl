// The tail of rmsnorm-vec4.wgsl without the split or the sums: x read-only, params, and stand-ins for what only the
// split and the sums call.

@group(0) @binding(0) var<storage, read> x: array<vec2<u32>>;
@group(0) @binding(3) var<uniform> params: Params;

const SPLIT: bool = false;
const ADD: bool = false;

fn split_store_exp(row: u32, e: i32) {}

fn split_store_unit(row: u32, j: u32, v: vec4<f32>, kt_count: u32) {}

fn unit_sums(r: u32, j: u32) -> vec4<f32> {
  return vec4<f32>(0.0);
}

fn add_unit(x_base: u32, j: u32, v: vec4<u32>, g: vec4<f32>) -> vec4<u32> {
  return v;
}
