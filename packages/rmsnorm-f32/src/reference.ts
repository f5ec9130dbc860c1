import { reference, roundToDtype } from '@qwen3-webgpu/tensor';
import type { RmsNormDtype } from './rmsnorm.ts';

/**
 * The specification in float64: x and w are first rounded to the dtypes the GPU stores them in (what the kernel
 * actually sees), then y [rows, n] = x · (mean(x²) + eps)^-½ · w is computed in f64.
 */
export function rmsnormReference(
  x: Float32Array, // [rows, n] values before rounding to xDtype
  w: Float32Array, // [n] values before rounding to wDtype
  rows: number,
  n: number,
  eps: number,
  xDtype: RmsNormDtype = 'f32',
  wDtype: RmsNormDtype = 'f32',
): Float64Array {
  return reference.rmsnorm(roundToDtype(x, xDtype), roundToDtype(w, wDtype), rows, n, eps);
}
