// The float64 CPU reference: the specification every kernel is tested against. Plain loops, no cleverness.
// Inputs are any numeric arrays; outputs are Float64Array. Shapes are row-major and given in each signature.

type Num = ArrayLike<number>;

/** y [m, n] = a [m, k] · bᵀ, b [n, k] (the nn.Linear convention: weights stored [out, in]). */
export function matmulT(a: Num, b: Num, m: number, n: number, k: number): Float64Array {
  const y = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let t = 0; t < k; t++) s += a[i * k + t]! * b[j * k + t]!;
      y[i * n + j] = s;
    }
  }
  return y;
}

/** y [rows, n] = x · (mean(x²) + eps)^-½ · w, w [n]. */
export function rmsnorm(x: Num, w: Num, rows: number, n: number, eps: number): Float64Array {
  const y = new Float64Array(rows * n);
  for (let r = 0; r < rows; r++) {
    let ss = 0;
    for (let i = 0; i < n; i++) ss += x[r * n + i]! ** 2;
    const inv = 1 / Math.sqrt(ss / n + eps);
    for (let i = 0; i < n; i++) y[r * n + i] = x[r * n + i]! * inv * w[i]!;
  }
  return y;
}

/** Row-wise softmax of x [rows, n]. */
export function softmax(x: Num, rows: number, n: number): Float64Array {
  const y = new Float64Array(rows * n);
  for (let r = 0; r < rows; r++) {
    let max = -Infinity;
    for (let i = 0; i < n; i++) max = Math.max(max, x[r * n + i]!);
    let sum = 0;
    for (let i = 0; i < n; i++) sum += y[r * n + i] = Math.exp(x[r * n + i]! - max);
    for (let i = 0; i < n; i++) y[r * n + i]! /= sum;
  }
  return y;
}

/**
 * RoPE with HF's rotate_half pairing on x [rows, heads, hd]: for i < hd/2, with angle = pos · theta^(−2i/hd),
 * (x_i, x_{i+hd/2}) → (x_i·cos − x_{i+hd/2}·sin, x_{i+hd/2}·cos + x_i·sin). positions [rows].
 */
export function rope(x: Num, positions: Num, rows: number, heads: number, hd: number, theta: number): Float64Array {
  const y = new Float64Array(rows * heads * hd);
  const half = hd / 2;
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < half; i++) {
      const angle = positions[r]! * theta ** ((-2 * i) / hd);
      const c = Math.cos(angle);
      const s = Math.sin(angle);
      for (let h = 0; h < heads; h++) {
        const base = (r * heads + h) * hd;
        const a = x[base + i]!;
        const b = x[base + i + half]!;
        y[base + i] = a * c - b * s;
        y[base + i + half] = b * c + a * s;
      }
    }
  }
  return y;
}

/**
 * RoPE on interleaved pairs (2i, 2i + 1) — GPT-J's layout, not Qwen3's. Kept as a known-wrong variant: parity tools
 * must show that a model using it fails.
 */
export function ropeInterleaved(x: Num, positions: Num, rows: number, heads: number, hd: number, theta: number): Float64Array {
  const y = new Float64Array(rows * heads * hd);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < hd / 2; i++) {
      const angle = positions[r]! * theta ** ((-2 * i) / hd);
      const c = Math.cos(angle);
      const s = Math.sin(angle);
      for (let h = 0; h < heads; h++) {
        const at = (r * heads + h) * hd + 2 * i;
        const a = x[at]!;
        const b = x[at + 1]!;
        y[at] = a * c - b * s;
        y[at + 1] = b * c + a * s;
      }
    }
  }
  return y;
}

/** silu(x) = x · sigmoid(x), elementwise. */
export function silu(x: Num): Float64Array {
  const y = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) y[i] = x[i]! / (1 + Math.exp(-x[i]!));
  return y;
}

/** Sum of each row of x [rows, n]. */
export function rowSum(x: Num, rows: number, n: number): Float64Array {
  const y = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += x[r * n + i]!;
    y[r] = s;
  }
  return y;
}

/** ‖a − b‖₂ / ‖b‖₂ (b is the reference). */
export function relativeL2(a: Num, b: Num): number {
  if (a.length !== b.length) throw new RangeError(`length mismatch ${a.length} vs ${b.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num) / Math.sqrt(den || 1);
}

/** max |a − b| and max |b|; NaN anywhere in a makes maxAbsError NaN. */
export function maxAbsError(a: Num, b: Num): { maxAbsError: number; maxAbsRef: number } {
  let err = 0;
  let ref = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= err)) err = d; // NaN propagates
    ref = Math.max(ref, Math.abs(b[i]!));
  }
  return { maxAbsError: err, maxAbsRef: ref };
}
