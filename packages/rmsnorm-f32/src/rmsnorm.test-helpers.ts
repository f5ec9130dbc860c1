import { createTensor, fillTensor, readFloat, reference, roundToDtype, uploadTensor, type GpuContext } from '@qwen3-webgpu/tensor';
import { createRmsNormF32, type ReductionPath, type RmsNormArgs, type RmsNormDtype, type RmsNormF32, type RmsNormF32Options } from './index.ts';

export interface CaseResult {
  relL2: number;
  maxAbsError: number;
  maxAbsRef: number;
  /** Outputs still NaN/inf after the run (poisoned and never written, or overflowed). */
  nonFinite: number;
  /** The largest per-row relative L2 error (rows of tiny values count as much as rows of huge ones). */
  worstRowRelL2: number;
}

/** The acceptance bound: relative L2 ≤ 1e-5 and max |y − ref| ≤ 1e-5 · max|ref| + 1e-6, every output written. */
export function withinBounds(r: CaseResult): boolean {
  return r.nonFinite === 0 && r.relL2 <= 1e-5 && r.maxAbsError <= 1e-5 * r.maxAbsRef + 1e-6;
}

export function describeResult(r: CaseResult): string {
  return (
    `relL2 ${r.relL2.toExponential(2)}, max err ${r.maxAbsError.toExponential(2)} (max |ref| ${r.maxAbsRef.toExponential(2)}), ` +
    `worst row relL2 ${r.worstRowRelL2.toExponential(2)}, non-finite ${r.nonFinite}`
  );
}

/** Compares y [rows, n] against the float64 reference row block by row block (bounded memory for huge cases). */
export function compareWithReference(y: Float32Array, x: Float32Array, w: Float32Array, rows: number, n: number, eps: number): CaseResult {
  let num = 0;
  let den = 0;
  let maxAbsError = 0;
  let maxAbsRef = 0;
  let nonFinite = 0;
  let worstRowRelL2 = 0;
  const block = Math.max(1, Math.floor((1 << 20) / n));
  for (let r0 = 0; r0 < rows; r0 += block) {
    const count = Math.min(block, rows - r0);
    const ref = reference.rmsnorm(x.subarray(r0 * n, (r0 + count) * n), w, count, n, eps);
    for (let r = 0; r < count; r++) {
      let rowNum = 0;
      let rowDen = 0;
      for (let i = r * n; i < (r + 1) * n; i++) {
        const a = y[r0 * n + i]!;
        const b = ref[i]!;
        if (!Number.isFinite(a)) {
          nonFinite++;
          continue;
        }
        const d = Math.abs(a - b);
        rowNum += d * d;
        rowDen += b * b;
        if (d > maxAbsError) maxAbsError = d;
        if (Math.abs(b) > maxAbsRef) maxAbsRef = Math.abs(b);
      }
      num += rowNum;
      den += rowDen;
      worstRowRelL2 = Math.max(worstRowRelL2, Math.sqrt(rowNum) / Math.sqrt(rowDen || 1));
    }
  }
  return { relL2: Math.sqrt(num) / Math.sqrt(den || 1), maxAbsError, maxAbsRef, nonFinite, worstRowRelL2 };
}

/** y [rows, n] after one GPU run of `norm` (y is poisoned with NaN first, so unwritten outputs show up). */
export async function runOnGpu(ctx: GpuContext, norm: RmsNormF32, args: RmsNormArgs): Promise<Float32Array> {
  fillTensor(args.y, NaN);
  await ctx.run((pass) => norm.encode(pass, args), 'rmsnorm');
  return readFloat(args.y);
}

export interface CaseSpec {
  x: Float32Array; // [rows, n] before rounding to xDtype
  w: Float32Array; // [n] before rounding to wDtype
  rows: number;
  n: number;
  eps: number;
  xDtype: RmsNormDtype;
  wDtype: RmsNormDtype;
  path?: ReductionPath;
}

/** Uploads x, w (rounded to their dtypes), runs once and compares with the reference. */
export function runCase(ctx: GpuContext, c: CaseSpec): Promise<{ result: CaseResult; y: Float32Array }> {
  return runCaseWith(ctx, c, {});
}

/** runCase with extra kernel options (tuning knobs). */
export async function runCaseWith(ctx: GpuContext, c: CaseSpec, extra: Partial<RmsNormF32Options>): Promise<{ result: CaseResult; y: Float32Array }> {
  const xs = roundToDtype(c.x, c.xDtype);
  const ws = roundToDtype(c.w, c.wDtype);
  const x = uploadTensor(ctx, [c.rows, c.n], c.xDtype, xs);
  const w = uploadTensor(ctx, [c.n], c.wDtype, ws);
  const y = createTensor(ctx, [c.rows, c.n], 'f32');
  try {
    const norm = createRmsNormF32(ctx, { ...extra, n: c.n, eps: c.eps, ...(c.path ? { path: c.path } : {}) });
    const out = await runOnGpu(ctx, norm, { x, w, y, rows: c.rows });
    return { result: compareWithReference(out, xs, ws, c.rows, c.n, c.eps), y: out };
  } finally {
    x.destroy();
    w.destroy();
    y.destroy();
  }
}
