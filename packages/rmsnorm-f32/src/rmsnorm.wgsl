// RMSNorm in float32, any layout:  y[r, i] = x[r, i] · (mean_i x[r, i]² + eps)^-½ · w[i]
//   x: [rows, n] f32 | bf16 | f16 at element x_offset, rows x_stride elements apart (16-bit types read as u32 words)
//   w: [n] f32 | bf16 | f16
//   y: [rows, n] f32 at element y_offset, rows y_stride elements apart
// Module = reduce-{subgroup,workgroup}.wgsl + common.wgsl + this file. TPR threads walk a row element by element.

@group(0) @binding(0) var<storage, read> x: array<u32>;
@group(0) @binding(1) var<storage, read> w: array<u32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

fn load_x(i: u32) -> f32 {
  if (X_DTYPE == F32) {
    return bitcast<f32>(x[i]);
  }
  return unpack_half(x[i >> 1u], i & 1u, X_DTYPE);
}

fn load_w(i: u32) -> f32 {
  if (W_DTYPE == F32) {
    return bitcast<f32>(w[i]);
  }
  return unpack_half(w[i >> 1u], i & 1u, W_DTYPE);
}

fn rmsnorm(group: u32, lid: u32) {
  let row = group * (WG / TPR) + lid / TPR;
  let t = lid % TPR;
  // Threads of a grid-tail row work on a clamped row and skip the stores, keeping barriers in uniform control flow.
  let r = min(row, params.rows - 1u);
  let n = params.n;
  let x_base = params.x_offset + r * params.x_stride;

  var p = Stats(0.0, 0.0);
  for (var i = t; i < n; i += TPR) {
    p = add_value(p, load_x(x_base + i));
  }
  var total = reduce_row(p, lid);
  var e = rescale_exponent(total);
  if (e != 0) {
    atomicOr(&rescue, 1u);
  }
  if (workgroupUniformLoad(&rescue) != 0u) {
    var q = Stats(0.0, 0.0);
    for (var i = t; i < n; i += TPR) {
      q = add_value(q, ldexp(load_x(x_base + i), -e));
    }
    let scaled = reduce_row(q, lid);
    if (e != 0) {
      total = scaled;
    }
  }

  let inv = 1.0 / sqrt(total.s / f32(n) + ldexp(params.eps, -2 * e));
  if (row >= params.rows) {
    return;
  }
  let y_base = params.y_offset + r * params.y_stride;
  for (var i = t; i < n; i += TPR) {
    y[y_base + i] = ldexp(load_x(x_base + i), -e) * inv * load_w(i);
  }
}
