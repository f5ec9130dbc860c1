// y[row_start + r] = Σ_i x[r, i] for the rows of one binding part: the tensor core's test kernel
// (a reduction over a tensor split across bindings, dispatched on a 2-D grid).

struct Params {
  rows: u32,
  n: u32,
  row_start: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;        // [rows, n], one part
@group(0) @binding(1) var<storage, read_write> y: array<f32>;   // [total rows]
@group(0) @binding(2) var<uniform> params: Params;

override WG: u32 = 64u;
var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  // The grid's tail may hold a few extra workgroups; they compute on a clamped row and skip the store, so the
  // barriers below stay in uniform control flow.
  let r = min(row, params.rows - 1u);
  var s = 0.0;
  for (var i = lid; i < params.n; i += WG) {
    s += x[r * params.n + i];
  }
  partial[lid] = s;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) {
      partial[lid] += partial[lid + stride];
    }
    workgroupBarrier();
  }
  if (lid == 0u && row < params.rows) {
    y[params.row_start + row] = partial[0];
  }
}
