// dst[i] = src[i] over vec4<u32> words: the bandwidth ceiling a bandwidth-bound kernel is compared with.

struct Params {
  vec4_count: u32,
}

@group(0) @binding(0) var<storage, read> src: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4<u32>>;
@group(0) @binding(2) var<uniform> params: Params;

override WORKGROUP_SIZE: u32 = 256;
// Each thread moves several vectors, strided by the whole grid, to keep many loads in flight.
override VECS_PER_THREAD: u32 = 4;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let group = wid.x + wid.y * nwg.x;
  let base = group * WORKGROUP_SIZE * VECS_PER_THREAD + lid;
  for (var k = 0u; k < VECS_PER_THREAD; k++) {
    let i = base + k * WORKGROUP_SIZE;
    if (i < params.vec4_count) {
      dst[i] = src[i];
    }
  }
}
