// RMSNorm in float32 for aligned rows: the same computation as rmsnorm.wgsl, four elements at a time. A "unit" is
// 4 consecutive elements: one vec2<u32> of a 16-bit x (two for f32 x) in, one vec4<f32> out, so both the loads and
// the stores of a warp are contiguous. Each thread issues UNROLL (1, 2 or 4) unit loads before using any; when one
// group covers the row (SINGLE) the values stay in registers for the output pass.
//   x: [rows, n] f32 | bf16 | f16; x_offset, x_stride and n multiples of 4 (of 8 bytes for 16-bit, 16 for f32)
//   w: [n] f32 | bf16 | f16, starting at element 0
//   y: [rows, n] f32; y_offset, y_stride multiples of 4
// With SPLIT it also writes y as the tensor-core GEMM reads it (@qwen3-webgpu/tensor's x-split.wgsl, rows at
// split_row0 + row): the row's largest |y| sets its exponent, the same y values split hi + lo.
// With ADD it first adds a k-split GEMM's sums into x and writes them back (the residual add fused in; see
// rmsnorm-vec4-add.wgsl): everything after reads x + sums.
// Module = reduce-{subgroup,workgroup}.wgsl + common.wgsl + x-split.wgsl + this file + the tail that declares x,
// params, SPLIT and ADD: rmsnorm-vec4-plain.wgsl, rmsnorm-vec4-split.wgsl or rmsnorm-vec4-add.wgsl (the last two
// followed by rmsnorm-vec4-split-store.wgsl).

@group(0) @binding(1) var<storage, read> w: array<vec2<u32>>;
@group(0) @binding(2) var<storage, read_write> y: array<vec4<f32>>;

// Loads issued together per thread: 1, 2 or 4.
override UNROLL: u32 = 4u;
// One group of UNROLL loads covers the row (nvec ≤ UNROLL · TPR): the loaded vec4s stay in registers for the
// output pass instead of being read again.
override SINGLE: bool = false;
// vec2<u32> words per unit of x: 1 for 16-bit, 2 for f32 (a unit's raw bits are held as a vec4<u32>).
override XW: u32 = select(1u, 2u, X_DTYPE == F32);

// The 4 elements of a unit, widened: for 16-bit types only .xy of the raw vec4 are used.
fn widen(v: vec4<u32>, dtype: u32) -> vec4<f32> {
  if (dtype == F32) {
    return bitcast<vec4<f32>>(v);
  }
  if (dtype == BF16) {
    return vec4<f32>(bitcast<f32>(v.x << 16u), bitcast<f32>(v.x & 0xffff0000u), bitcast<f32>(v.y << 16u), bitcast<f32>(v.y & 0xffff0000u));
  }
  return vec4<f32>(unpack2x16float(v.x), unpack2x16float(v.y));
}

// Raw bits of unit j of x (x_base in vec2 words).
fn load_unit(x_base: u32, j: u32) -> vec4<u32> {
  if (X_DTYPE == F32) {
    return vec4<u32>(x[x_base + 2u * j], x[x_base + 2u * j + 1u]);
  }
  return vec4<u32>(x[x_base + j], 0u, 0u);
}

// w elements 4j … 4j + 3.
fn load_w4(j: u32) -> vec4<f32> {
  if (W_DTYPE == F32) {
    return bitcast<vec4<f32>>(vec4<u32>(w[2u * j], w[2u * j + 1u]));
  }
  return widen(vec4<u32>(w[j], 0u, 0u), W_DTYPE);
}

// Adds the elements of one unit, each times 2^-e, to the statistics (`live` = false adds nothing).
fn add_vec(p: Stats, v: vec4<u32>, e: i32, live: bool) -> Stats {
  if (!live) {
    return p;
  }
  var f = widen(v, X_DTYPE);
  if (e != 0) {
    f = ldexp(f, vec4<i32>(-e));
  }
  let m = abs(f);
  return Stats(p.s + dot(f, f), max(p.m, max(max(m.x, m.y), max(m.z, m.w))));
}

// The k-th vec4 of a group of UNROLL (k < UNROLL), clamped into the row; callers mask the clamped ones.
fn load_group(x_base: u32, j: u32, k: u32, nvec: u32) -> vec4<u32> {
  if (k >= UNROLL) {
    return vec4<u32>();
  }
  return load_unit(x_base, min(j + k * TPR, nvec - 1u));
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

// y of unit j (raw bits v): the one expression both the store and the split use.
fn y_of(v: vec4<u32>, j: u32, e: i32, inv: f32) -> vec4<f32> {
  return y_with(v, e, inv, load_w4(j));
}

// y of a unit (raw bits v) whose weights w4 are loaded already.
fn y_with(v: vec4<u32>, e: i32, inv: f32, w4: vec4<f32>) -> vec4<f32> {
  var f = widen(v, X_DTYPE);
  if (e != 0) {
    f = ldexp(f, vec4<i32>(-e));
  }
  return f * inv * w4;
}

fn store_vec(v: vec4<u32>, j: u32, y_base: u32, e: i32, inv: f32) {
  y[y_base + j] = y_of(v, j, e, inv);
}

// The largest |y| of this thread's units of the row.
fn thread_y_max(x_base: u32, nvec: u32, t: u32, e: i32, inv: f32) -> f32 {
  var m = 0.0;
  for (var j = t; j < nvec; j += TPR) {
    m = max(m, abs_max(y_of(load_unit(x_base, j), j, e, inv)));
  }
  return m;
}

// The split's exponent of a row from its largest |y| (stored once, by thread 0) and the factor 2^-t its units are
// scaled by.
fn split_scale(at_row: u32, t: u32, y_max: f32) -> f32 {
  let te = split_row_exp(bitcast<u32>(y_max));
  if (t == 0u) {
    split_store_exp(at_row, te);
  }
  return ldexp(1.0, -te);
}

// The largest |element| of a unit.
fn abs_max(v: vec4<f32>) -> f32 {
  let a = abs(v);
  return max(max(a.x, a.y), max(a.z, a.w));
}

// This thread's units of the row into the split (y_max: the row's largest |y|), the padding units past n as zeros.
fn split_row(row: u32, x_base: u32, nvec: u32, t: u32, e: i32, inv: f32, y_max: f32) {
  let at_row = params.split_row0 + row;
  let mul = split_scale(at_row, t, y_max);
  let kt = split_kt_count(params.n);
  for (var j = t; j < kt * 4u; j += TPR) {
    var v = vec4<f32>(0.0);
    if (j < nvec) {
      v = y_of(load_unit(x_base, j), j, e, inv) * mul;
    }
    split_store_unit(at_row, j, v, kt);
  }
}

// SINGLE: unit k of this thread's row is j = t + k·TPR, held in registers while k < UNROLL and j < nvec (all of its
// units below nvec: nvec ≤ UNROLL · TPR).
fn unit_live(k: u32, t: u32, nvec: u32) -> bool {
  return k < UNROLL && t + k * TPR < nvec;
}

// ADD, a unit held in registers: its sums (unit_sums) where it is one of the row's, else zeros.
fn unit_sums_if(live: bool, r: u32, j: u32) -> vec4<f32> {
  if (!live) {
    return vec4<f32>(0.0);
  }
  return unit_sums(r, j);
}

// ADD, a unit held in registers: add_unit where it is one of the row's, else v as it is.
fn add_unit_if(live: bool, x_base: u32, j: u32, v: vec4<u32>, g: vec4<f32>) -> vec4<u32> {
  if (!live) {
    return v;
  }
  return add_unit(x_base, j, v, g);
}

// SINGLE: y of this thread's units (raw bits v0 … v3, weights ws), computed once for the max, the split and the store.
fn single_y(v0: vec4<u32>, v1: vec4<u32>, v2: vec4<u32>, v3: vec4<u32>, ws: array<vec4<f32>, 4>, t: u32, nvec: u32, e: i32,
            inv: f32) -> array<vec4<f32>, 4> {
  let v = array<vec4<u32>, 4>(v0, v1, v2, v3);
  var ys: array<vec4<f32>, 4>;
  for (var k = 0u; k < 4u; k++) {
    if (unit_live(k, t, nvec)) {
      ys[k] = y_with(v[k], e, inv, ws[k]);
    }
  }
  return ys;
}

// SINGLE: the largest |y| of this thread's units.
fn single_y_max(ys: array<vec4<f32>, 4>, t: u32, nvec: u32) -> f32 {
  var m = 0.0;
  for (var k = 0u; k < 4u; k++) {
    if (unit_live(k, t, nvec)) {
      m = max(m, abs_max(ys[k]));
    }
  }
  return m;
}

// SINGLE: split_row from the units in registers; the padding units past n as zeros.
fn single_split(row: u32, ys: array<vec4<f32>, 4>, t: u32, nvec: u32, y_max: f32) {
  let at_row = params.split_row0 + row;
  let mul = split_scale(at_row, t, y_max);
  let kt = split_kt_count(params.n);
  for (var k = 0u; k < 4u; k++) {
    if (unit_live(k, t, nvec)) {
      split_store_unit(at_row, t + k * TPR, ys[k] * mul, kt);
    }
  }
  for (var j = t; j < kt * 4u; j += TPR) {
    if (j >= nvec) {
      split_store_unit(at_row, j, vec4<f32>(0.0), kt);
    }
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
  let nvec = params.n / 4u;
  let x_base = (params.x_offset + r * params.x_stride) * XW / 4u;
  // Threads past the end of a row (t ≥ nvec) hold a clamped copy and count nothing.
  let live = t < nvec;

  var v0 = vec4<u32>();
  var v1 = vec4<u32>();
  var v2 = vec4<u32>();
  var v3 = vec4<u32>();
  var p = Stats(0.0, 0.0);
  // ADD: each thread adds the sums into its own units of x (rows of the grid tail leave x alone); every later read
  // of a unit that counts is by the thread that wrote it. Threads of grid-tail rows and clamped copies of a row's last
  // unit may read units another thread is writing: their values are masked or dropped (at most they raise `rescue`).
  let add = ADD && row < params.rows;
  // SINGLE: the weights of this thread's units load with x, not after the reduction (a memory round trip less).
  var ws: array<vec4<f32>, 4>;
  if (SINGLE) {
    v0 = load_group(x_base, t, 0u, nvec);
    v1 = load_group(x_base, t, 1u, nvec);
    v2 = load_group(x_base, t, 2u, nvec);
    v3 = load_group(x_base, t, 3u, nvec);
    for (var k = 0u; k < 4u; k++) {
      if (unit_live(k, t, nvec)) {
        ws[k] = load_w4(t + k * TPR);
      }
    }
    if (add) {
      // Every unit's sums loaded before any store to x (the compiler may not move loads past a store).
      let g0 = unit_sums_if(unit_live(0u, t, nvec), r, t);
      let g1 = unit_sums_if(unit_live(1u, t, nvec), r, t + TPR);
      let g2 = unit_sums_if(unit_live(2u, t, nvec), r, t + 2u * TPR);
      let g3 = unit_sums_if(unit_live(3u, t, nvec), r, t + 3u * TPR);
      v0 = add_unit_if(unit_live(0u, t, nvec), x_base, t, v0, g0);
      v1 = add_unit_if(unit_live(1u, t, nvec), x_base, t + TPR, v1, g1);
      v2 = add_unit_if(unit_live(2u, t, nvec), x_base, t + 2u * TPR, v2, g2);
      v3 = add_unit_if(unit_live(3u, t, nvec), x_base, t + 3u * TPR, v3, g3);
    }
    if (live) {
      p = group_stats(v0, v1, v2, v3, t, nvec, 0);
    }
  } else {
    if (add) {
      for (var j = t; j < nvec; j += TPR) {
        add_unit(x_base, j, load_unit(x_base, j), unit_sums(r, j));
      }
    }
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
  var ys: array<vec4<f32>, 4>;
  if (SINGLE) {
    ys = single_y(v0, v1, v2, v3, ws, t, nvec, e, inv);
  }
  // SPLIT: the row's largest |y|, every thread of the workgroup joining the reduction (grid-tail rows too: barriers).
  var y_max = 0.0;
  if (SPLIT) {
    var m = 0.0;
    if (SINGLE) {
      m = single_y_max(ys, t, nvec);
    } else {
      m = thread_y_max(x_base, nvec, t, e, inv);
    }
    y_max = reduce_row(Stats(0.0, m), lid).m;
  }
  if (row >= params.rows) {
    return;
  }
  let y_base = (params.y_offset + r * params.y_stride) / 4u;
  if (SINGLE) {
    if (SPLIT) {
      single_split(row, ys, t, nvec, y_max);
    }
    for (var k = 0u; k < 4u; k++) {
      if (unit_live(k, t, nvec)) {
        y[y_base + t + k * TPR] = ys[k];
      }
    }
    return;
  }
  if (SPLIT) {
    split_row(row, x_base, nvec, t, e, inv, y_max);
  }
  for (var j = t; j < nvec; j += UNROLL * TPR) {
    store_group(load_group(x_base, j, 0u, nvec), load_group(x_base, j, 1u, nvec), load_group(x_base, j, 2u, nvec),
                load_group(x_base, j, 3u, nvec), j, nvec, y_base, e, inv);
  }
}
