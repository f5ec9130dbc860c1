// seen[ids[t]] = 1 for t < seq: the tokens of the context, for the repetition and presence penalties.

struct Params {
  seq: u32,
}

@group(0) @binding(0) var<storage, read> ids: array<u32>;
@group(0) @binding(1) var<storage, read_write> seen: array<u32>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x < params.seq) {
    seen[ids[gid.x]] = 1u;
  }
}
