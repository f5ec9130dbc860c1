import { roundToDtype } from '@qwen3-webgpu/tensor';
import type { GemmDtype } from './gemm.ts';

export interface GemmReferenceOptions {
  /** y0: [rows, n], added to the product (accumulate). */
  y0?: Float32Array;
  /** W2: [n, k] (before rounding): y = silu(x·Wᵀ) ⊙ x·W2ᵀ. */
  w2?: Float32Array;
}

/**
 * The specification in float64: W (and W2) are first rounded to wDtype (what the GPU stores), then
 * y [rows, n] = x · Wᵀ (+ y0), or silu(x·Wᵀ) ⊙ (x·W2ᵀ), in f64. Also returns, per output, `magnitude`: Σ_k |x·w|
 * (+ |y0|), the scale of the rounding error any f32 summation makes (for swiglu, propagated through silu(g)·u);
 * and `allowance`: the error WGSL permits in evaluating silu itself (exp is accurate to 3 + 2|g| ULP, which matters
 * where g ≪ 0 and silu(g) is tiny; below g ≈ −88 exp(−g) overflows f32 and silu(g), then under 1e-36, becomes 0,
 * hence the |u| · 2^-100 floor), zero without swiglu.
 */
export function gemmReference(
  x: Float32Array, // [rows, k] f32
  w: Float32Array, // [n, k] values before rounding to wDtype
  rows: number,
  n: number,
  k: number,
  wDtype: GemmDtype,
  options: GemmReferenceOptions = {},
): { y: Float64Array; magnitude: Float64Array; allowance: Float64Array } {
  const wr = roundToDtype(w, wDtype);
  const w2r = options.w2 ? roundToDtype(options.w2, wDtype) : undefined;
  const y = new Float64Array(rows * n);
  const magnitude = new Float64Array(rows * n);
  const allowance = new Float64Array(rows * n);
  for (let r = 0; r < rows; r++) {
    const xr = r * k;
    for (let c = 0; c < n; c++) {
      const wc = c * k;
      let s = 0;
      let m = 0;
      let s2 = 0;
      let m2 = 0;
      for (let i = 0; i < k; i++) {
        const xv = x[xr + i]!;
        s += xv * wr[wc + i]!;
        m += Math.abs(xv * wr[wc + i]!);
        if (w2r) {
          s2 += xv * w2r[wc + i]!;
          m2 += Math.abs(xv * w2r[wc + i]!);
        }
      }
      let v = s;
      let mag = m;
      if (w2r) {
        const sig = 1 / (1 + Math.exp(-s));
        v = s * sig * s2;
        // d(silu(g)·u) ≈ (silu'(g)·u) dg + silu(g) du: the error scale of each factor, propagated.
        const dsilu = sig * (1 + s * (1 - sig));
        mag = Math.abs(dsilu * s2) * m + Math.abs(s * sig) * m2;
        allowance[r * n + c] = Math.abs(v) * (4 + 2 * Math.abs(s)) * 2 ** -23 + Math.abs(s2) * 2 ** -100;
      }
      if (options.y0) {
        v += options.y0[r * n + c]!;
        mag += Math.abs(options.y0[r * n + c]!);
      }
      y[r * n + c] = v;
      magnitude[r * n + c] = mag;
    }
  }
  return { y, magnitude, allowance };
}
