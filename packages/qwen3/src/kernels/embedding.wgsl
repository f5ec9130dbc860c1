// out[t, i] = E[ids[t], i] for the ids inside this part of the embedding (rows row_start … row_start + row_count − 1);
// the embedding may span several bindings, one dispatch per part.
//   ids: [seq] u32;  table: [row_count, hidden] E_DTYPE;  out: [seq, hidden] f32

struct Params {
  seq: u32,
  hidden: u32,
  row_start: u32,
  row_count: u32,
}

@group(0) @binding(0) var<storage, read> ids: array<u32>;
@group(0) @binding(1) var<storage, read> table: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

override E_DTYPE: u32 = BF16;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let idx = (wid.x + wid.y * nwg.x) * 256u + lid;
  if (idx >= params.seq * params.hidden) {
    return;
  }
  let t = idx / params.hidden;
  let i = idx % params.hidden;
  let id = ids[t];
  if (id < params.row_start || id >= params.row_start + params.row_count) {
    return;
  }
  let e = (id - params.row_start) * params.hidden + i;
  if (E_DTYPE == F32) {
    out[idx] = bitcast<f32>(table[e]);
  } else {
    out[idx] = unpack_half(table[e >> 1u], e & 1u, E_DTYPE);
  }
}
