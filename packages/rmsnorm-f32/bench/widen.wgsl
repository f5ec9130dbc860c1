// The traffic ceiling of RMSNormF32's benchmark shape: bf16 → f32 widening with the same bytes read and written
// (vec4 in, two vec4 out) and no arithmetic to speak of.

struct Params {
  vec_count: u32,
}

@group(0) @binding(0) var<storage, read> x: array<vec4<u32>>;     // [vec_count] 8 bf16 each
@group(0) @binding(1) var<storage, read_write> y: array<vec4<f32>>; // [2 · vec_count]
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 256u + lid;
  if (i < params.vec_count) {
    let v = x[i];
    y[2u * i] = vec4<f32>(bitcast<f32>(v.x << 16u), bitcast<f32>(v.x & 0xffff0000u), bitcast<f32>(v.y << 16u), bitcast<f32>(v.y & 0xffff0000u));
    y[2u * i + 1u] = vec4<f32>(bitcast<f32>(v.z << 16u), bitcast<f32>(v.z & 0xffff0000u), bitcast<f32>(v.w << 16u), bitcast<f32>(v.w & 0xffff0000u));
  }
}
