// RMSNorm in float32 for 16-byte aligned rows: the same computation as rmsnorm.wgsl with every load and store a
// vec4 (8 bf16/f16 or 4 f32 elements in, 4 f32 out). Each thread issues UNROLL (1, 2 or 4) loads before using
// any, so enough bytes are in flight to saturate memory; the output pass reads the row again (from cache: this
// warp just read it).
//   x: [rows, n] f32 | bf16 | f16; x_offset, x_stride and n multiples of EPV (elements per vec4<u32>)
//   w: [n] f32 | bf16 | f16, starting at element 0
//   y: [rows, n] f32; y_offset, y_stride multiples of 4
// Module = reduce-{subgroup,workgroup}.wgsl + common.wgsl + this file.

@group(0) @binding(0) var<storage, read> x: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read> w: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read_write> y: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> params: Params;

// Loads issued together per thread: 1, 2 or 4.
override UNROLL: u32 = 4u;
// One group of UNROLL loads covers the row (nvec ≤ UNROLL · TPR): the loaded vec4s stay in registers for the
// output pass instead of being read again.
override SINGLE: bool = false;
// x elements per vec4<u32>, and the f32 vec4s they widen to.
override EPV: u32 = select(8u, 4u, X_DTYPE == F32);
override UNITS: u32 = EPV / 4u;

// Elements 4u … 4u + 3 of a vec4<u32> of x (u < UNITS), widened.
fn widen(v: vec4<u32>, u: u32, dtype: u32) -> vec4<f32> {
  if (dtype == F32) {
    return bitcast<vec4<f32>>(v);
  }
  let a = select(v.x, v.z, u == 1u);
  let b = select(v.y, v.w, u == 1u);
  if (dtype == BF16) {
    return vec4<f32>(bitcast<f32>(a << 16u), bitcast<f32>(a & 0xffff0000u), bitcast<f32>(b << 16u), bitcast<f32>(b & 0xffff0000u));
  }
  return vec4<f32>(unpack2x16float(a), unpack2x16float(b));
}

// w elements e … e + 3 (e a multiple of 4).
fn load_w4(e: u32) -> vec4<f32> {
  if (W_DTYPE == F32) {
    return bitcast<vec4<f32>>(w[e / 4u]);
  }
  return widen(w[e / 8u], (e / 4u) % 2u, W_DTYPE);
}

// Adds the elements of one vec4<u32> of x, each times 2^-e, to the statistics (`live` = false adds nothing).
fn add_vec(p: Stats, v: vec4<u32>, e: i32, live: bool) -> Stats {
  if (!live) {
    return p;
  }
  var q = p;
  for (var u = 0u; u < UNITS; u++) {
    var f = widen(v, u, X_DTYPE);
    if (e != 0) {
      f = ldexp(f, vec4<i32>(-e));
    }
    let m = abs(f);
    q = Stats(q.s + dot(f, f), max(q.m, max(max(m.x, m.y), max(m.z, m.w))));
  }
  return q;
}

// The k-th vec4 of a group of UNROLL (k < UNROLL), clamped into the row; callers mask the clamped ones.
fn load_group(x_base: u32, j: u32, k: u32, nvec: u32) -> vec4<u32> {
  if (k >= UNROLL) {
    return vec4<u32>();
  }
  return x[x_base + min(j + k * TPR, nvec - 1u)];
}

// Statistics of this thread's share of a row: vec4s t, t + TPR, t + 2·TPR, … below nvec, UNROLL loads at a time.
fn row_stats(x_base: u32, nvec: u32, t: u32, e: i32) -> Stats {
  var p = Stats(0.0, 0.0);
  for (var j = t; j < nvec; j += UNROLL * TPR) {
    p = combine(p, group_stats(load_group(x_base, j, 0u, nvec), load_group(x_base, j, 1u, nvec),
                               load_group(x_base, j, 2u, nvec), load_group(x_base, j, 3u, nvec), j, nvec, e));
  }
  return p;
}

fn store_vec(v: vec4<u32>, j: u32, y_base: u32, e: i32, inv: f32) {
  for (var u = 0u; u < UNITS; u++) {
    var f = widen(v, u, X_DTYPE);
    if (e != 0) {
      f = ldexp(f, vec4<i32>(-e));
    }
    y[y_base + j * UNITS + u] = f * inv * load_w4((j * UNITS + u) * 4u);
  }
}

fn group_stats(v0: vec4<u32>, v1: vec4<u32>, v2: vec4<u32>, v3: vec4<u32>, j: u32, nvec: u32, e: i32) -> Stats {
  var p = add_vec(Stats(0.0, 0.0), v0, e, true);
  p = add_vec(p, v1, e, UNROLL > 1u && j + TPR < nvec);
  p = add_vec(p, v2, e, UNROLL > 2u && j + 2u * TPR < nvec);
  return add_vec(p, v3, e, UNROLL > 3u && j + 3u * TPR < nvec);
}

fn store_group(v0: vec4<u32>, v1: vec4<u32>, v2: vec4<u32>, v3: vec4<u32>, j: u32, nvec: u32, y_base: u32, e: i32, inv: f32) {
  store_vec(v0, j, y_base, e, inv);
  if (UNROLL > 1u && j + TPR < nvec) {
    store_vec(v1, j + TPR, y_base, e, inv);
  }
  if (UNROLL > 2u && j + 2u * TPR < nvec) {
    store_vec(v2, j + 2u * TPR, y_base, e, inv);
  }
  if (UNROLL > 3u && j + 3u * TPR < nvec) {
    store_vec(v3, j + 3u * TPR, y_base, e, inv);
  }
}

fn rmsnorm(group: u32, lid: u32) {
  let row = group * (WG / TPR) + lid / TPR;
  let t = lid % TPR;
  // Threads of a grid-tail row work on a clamped row and skip the stores, keeping barriers in uniform control flow.
  let r = min(row, params.rows - 1u);
  let nvec = params.n / EPV;
  let x_base = (params.x_offset + r * params.x_stride) / EPV;
  // Threads past the end of a row (t ≥ nvec) hold a clamped copy and count nothing.
  let live = t < nvec;

  var v0 = vec4<u32>();
  var v1 = vec4<u32>();
  var v2 = vec4<u32>();
  var v3 = vec4<u32>();
  var p = Stats(0.0, 0.0);
  if (SINGLE) {
    v0 = load_group(x_base, t, 0u, nvec);
    v1 = load_group(x_base, t, 1u, nvec);
    v2 = load_group(x_base, t, 2u, nvec);
    v3 = load_group(x_base, t, 3u, nvec);
    if (live) {
      p = group_stats(v0, v1, v2, v3, t, nvec, 0);
    }
  } else {
    p = row_stats(x_base, nvec, t, 0);
  }
  var total = reduce_row(p, lid);
  var e = rescale_exponent(total);
  if (e != 0) {
    atomicOr(&rescue, 1u);
  }
  if (workgroupUniformLoad(&rescue) != 0u) {
    let scaled = reduce_row(row_stats(x_base, nvec, t, e), lid);
    if (e != 0) {
      total = scaled;
    }
  }

  let inv = 1.0 / sqrt(total.s / f32(params.n) + ldexp(params.eps, -2 * e));
  if (row >= params.rows) {
    return;
  }
  let y_base = (params.y_offset + r * params.y_stride) / 4u;
  if (SINGLE) {
    if (live) {
      store_group(v0, v1, v2, v3, t, nvec, y_base, e, inv);
    }
    return;
  }
  for (var j = t; j < nvec; j += UNROLL * TPR) {
    store_group(load_group(x_base, j, 0u, nvec), load_group(x_base, j, 1u, nvec), load_group(x_base, j, 2u, nvec),
                load_group(x_base, j, 3u, nvec), j, nvec, y_base, e, inv);
  }
}
