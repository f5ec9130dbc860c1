// The tail of rmsnorm-vec4.wgsl that also writes y split for the tensor-core GEMM (RmsNormArgs.split): x read-only,
// the split's bindings (its stores: rmsnorm-vec4-split-store.wgsl; layout: @qwen3-webgpu/tensor's x-split.wgsl).

@group(0) @binding(0) var<storage, read> x: array<vec2<u32>>;
@group(0) @binding(3) var<storage, read_write> xs: array<u32>;
@group(0) @binding(4) var<storage, read_write> row_exp: array<i32>;
@group(0) @binding(5) var<uniform> params: Params;

const SPLIT: bool = true;
const ADD: bool = false;

fn unit_sums(r: u32, j: u32) -> vec4<f32> {
  return vec4<f32>(0.0);
}

fn add_unit(x_base: u32, j: u32, v: vec4<u32>, g: vec4<f32>) -> vec4<u32> {
  return v;
}
