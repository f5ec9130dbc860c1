// Plain-WGSL stand-ins for subgroup-matrix.wgsl, for testing the subgroup-matrix GEMM (tiling, hi/lo split, scales,
// edges, epilogue) on adapters without tensor cores (lavapipe). Every invocation holds and computes the whole
// 16 × 16 matrix: slow, but the same results the builtins are specified to give (products of f16 values summed in
// f32). Needs shader-f16. Not for speed, never chosen by 'auto'.
enable f16;

alias MatLeft = array<f16, 256>;   // [row][k]
alias MatRight = array<f16, 256>;  // [k][column]
alias MatResult = array<f32, 256>; // [row][column]

fn mat_zero() -> MatResult {
  return MatResult();
}

// Row-major: entry [r, c] at offset + r · XS_STRIDE + c (xs is workgroup memory or storage, as in the kernel).
fn load_left(offset: u32) -> MatLeft {
  var m: MatLeft;
  for (var r = 0u; r < 16u; r++) {
    for (var c = 0u; c < 16u; c++) {
      m[r * 16u + c] = xs[offset + r * XS_STRIDE + c];
    }
  }
  return m;
}

// Column-major: entry [r, c] at offset + c · AS + r.
fn load_right(offset: u32) -> MatRight {
  var m: MatRight;
  for (var r = 0u; r < 16u; r++) {
    for (var c = 0u; c < 16u; c++) {
      m[r * 16u + c] = ws[offset + c * AS + r];
    }
  }
  return m;
}

fn load_right2(offset: u32) -> MatRight {
  var m: MatRight;
  for (var r = 0u; r < 16u; r++) {
    for (var c = 0u; c < 16u; c++) {
      m[r * 16u + c] = ws2[offset + c * AS + r];
    }
  }
  return m;
}

fn mma(a: MatLeft, b: MatRight, c: MatResult) -> MatResult {
  var d = c;
  for (var r = 0u; r < 16u; r++) {
    for (var col = 0u; col < 16u; col++) {
      var s = d[r * 16u + col];
      for (var kk = 0u; kk < 16u; kk++) {
        s = fma(f32(a[r * 16u + kk]), f32(b[kk * 16u + col]), s);
      }
      d[r * 16u + col] = s;
    }
  }
  return d;
}

fn store_result(offset: u32, m: MatResult) {
  for (var e = 0u; e < 256u; e++) {
    stage[offset + e] = m[e];
  }
}
