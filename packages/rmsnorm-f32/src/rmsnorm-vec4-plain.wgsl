// The tail of rmsnorm-vec4.wgsl without the split: params, and stand-ins for what only the split calls.

@group(0) @binding(3) var<uniform> params: Params;

const SPLIT: bool = false;

fn split_store_exp(row: u32, e: i32) {}

fn split_store_unit(row: u32, j: u32, v: vec4<f32>, kt_count: u32) {}
