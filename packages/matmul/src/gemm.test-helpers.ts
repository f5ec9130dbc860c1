import {
  createTensor,
  fillTensor,
  readFloat,
  splitRows,
  uploadTensor,
  type DispatchTarget,
  type GpuContext,
  type Rng,
  type Tensor,
} from '@qwen3-webgpu/tensor';
import type { Gemm, GemmArgs, GemmDtype, GemmPath } from './gemm.ts';
import { gemmReference } from './reference.ts';
import { storeAsF16 } from './store-f16.ts';

/**
 * The acceptance bound, per output: |y − ref| ≤ TOLERANCE · Σ_k |x·w| (+ |y0|). An f32 dot product of length k
 * rounds each partial sum to 2^-24 relative; summed as a random walk that is ≈ 2^-24·√k of Σ|x·w| (3.3e-6 at
 * k = 3072), and the tensor-core split of x adds ≤ 2^-22 per product. The bound holds every element to that scale.
 */
export const TOLERANCE = 4e-6;

export interface GemmCaseResult {
  /** max over outputs of |y − ref| / (TOLERANCE · Σ|x·w| + allowance): ≤ 1 passes. */
  worst: number;
  relL2: number;
  /** Outputs still NaN/inf (poisoned and never written). */
  nonFinite: number;
  paths: GemmPath[];
}

export function withinBounds(r: GemmCaseResult): boolean {
  return r.nonFinite === 0 && r.worst <= 1;
}

export function describeResult(r: GemmCaseResult): string {
  return `worst |err| / bound ${r.worst.toPrecision(3)} (bound ${TOLERANCE}·Σ|x·w|), relL2 ${r.relL2.toExponential(2)}, non-finite ${r.nonFinite}, paths ${r.paths.join(',')}`;
}

export interface GemmCase {
  rows: number;
  n: number;
  k: number;
  wDtype: GemmDtype;
  /** x: [rows, k]; default random normal rows with magnitudes spread over 2^-6 … 2^6. */
  x?: Float32Array;
  /** W: [n, k] before rounding to wDtype; default normal(0, 0.05). */
  w?: Float32Array;
  w2?: Float32Array;
  accumulate?: boolean;
  swiglu?: boolean;
  /** Split W into this many row parts (lm_head style). */
  parts?: number;
  /** Re-encode W (and W2) in place as f16w fragments with storeAsF16 first, and pass the views it returns (n and k multiples of 64, weights exact in f16). */
  storeF16?: boolean;
}

/**
 * Normal(0, std) weights with none below 1e-5 in magnitude: a span one f16 scale holds, so storeAsF16 takes every draw
 * (plain normal draws of millions of weights may hold one too small to scale in).
 */
export function f16ExactWeights(rng: Rng, count: number, std = 0.05): Float32Array {
  return rng.normalArray(count, std).map((v) => (Math.abs(v) < 1e-5 ? Math.sign(v || 1) * 1e-5 : v));
}

/** W (and W2) re-encoded in place with storeAsF16, as a model stores its weights: the views to pass from then on. */
export async function storeCaseWeights(ctx: GpuContext, w: Tensor, w2?: Tensor): Promise<[Tensor, Tensor | undefined]> {
  const stored = await storeAsF16(ctx, w2 ? [w, w2] : [w]);
  if (stored.some((s) => !s)) throw new Error('storeAsF16 left a case weight as it was: not exact in f16, or n or k not a multiple of 64');
  return [stored[0]!.tensor, stored[1]?.tensor];
}

/** Random rows with magnitudes spread over 2^-6 … 2^6 (never zeros). */
export function randomRows(rng: Rng, rows: number, k: number): Float32Array {
  const x = new Float32Array(rows * k);
  for (let r = 0; r < rows; r++) {
    const scale = 2 ** rng.uniform(-6, 6);
    for (let i = r * k; i < (r + 1) * k; i++) x[i] = rng.normal() * scale;
  }
  return x;
}

/** A case uploaded and prepared, y poisoned: encode its args, run, check(), destroy(). */
export interface StagedGemmCase {
  args: GemmArgs;
  /** Reads y and compares it with the float64 reference. */
  check(paths: GemmPath[]): Promise<GemmCaseResult>;
  /** Frees the case's tensors. */
  destroy(): void;
}

/** Uploads a case and poisons y (NaN, or random values when accumulating) for `gemm`; nothing is encoded yet. */
export async function stageGemmCase(ctx: GpuContext, gemm: Gemm, rng: Rng, c: GemmCase): Promise<StagedGemmCase> {
  const { rows, n, k, wDtype } = c;
  const xs = c.x ?? randomRows(rng, rows, k);
  const ws = c.w ?? rng.normalArray(n * k, 0.05);
  const w2s = c.swiglu ? (c.w2 ?? rng.normalArray(n * k, 0.05)) : undefined;
  const y0 = c.accumulate ? rng.normalArray(rows * n) : undefined;
  const x = uploadTensor(ctx, [rows, k], 'f32', xs);
  const w = uploadTensor(ctx, [n, k], wDtype, ws);
  const w2 = w2s ? uploadTensor(ctx, [n, k], wDtype, w2s) : undefined;
  const y = y0 ? uploadTensor(ctx, [rows, n], 'f32', y0) : createTensor(ctx, [rows, n], 'f32');
  const free = () => {
    x.destroy();
    w.destroy();
    w2?.destroy();
    y.destroy();
  };
  try {
    if (!y0) fillTensor(y, NaN);
    const [wIn, w2In] = c.storeF16 ? await storeCaseWeights(ctx, w, w2) : [w, w2];
    const rowBytes = k * (wDtype === 'f32' ? 4 : 2);
    const wArg = c.parts && c.parts > 1 ? splitRows(wIn, Math.max(256, Math.ceil(n / c.parts) * rowBytes)) : wIn;
    await gemm.prepare(wArg, w2In);
    return {
      args: { x, w: wArg, ...(w2In ? { w2: w2In } : {}), y, rows },
      async check(paths) {
        const got = await readFloat(y);
        const ref = gemmReference(xs, ws, rows, n, k, wDtype, { ...(y0 ? { y0 } : {}), ...(w2s ? { w2: w2s } : {}) });
        return { ...compare(got, ref.y, ref.magnitude, ref.allowance), paths };
      },
      destroy: free,
    };
  } catch (err) {
    free();
    throw err;
  }
}

/** Uploads a case, poisons y, runs `gemm` once in a pass of its own and compares. */
export async function runGemmCase(ctx: GpuContext, gemm: Gemm, rng: Rng, c: GemmCase): Promise<GemmCaseResult> {
  const staged = await stageGemmCase(ctx, gemm, rng, c);
  try {
    let paths: GemmPath[] = [];
    await ctx.run((pass) => {
      paths = gemm.encode(pass, staged.args);
    }, 'gemm');
    return await staged.check(paths);
  } finally {
    staged.destroy();
  }
}

/** Records every call of an interleaved run into a target and submits it once; returns each call's paths. */
export type RecordCalls = (encodeAll: (target: DispatchTarget) => GemmPath[][]) => Promise<GemmPath[][]>;

/** RecordCalls into one compute pass. */
export const inOnePass =
  (ctx: GpuContext): RecordCalls =>
  async (encodeAll) => {
    let paths: GemmPath[][] = [];
    await ctx.run((pass) => {
      paths = encodeAll(pass);
    }, 'interleaved gemms');
    return paths;
  };

/**
 * Handles sharing the context's scratch, called interleaved: stages cases[i] for gemms[i], encodes the calls `order`
 * names (handle indices; a handle named twice encodes its case again, so its last call must redo its conversion of W
 * and split of x over whatever the calls between left in the scratch) through `record`, in one submit, and compares
 * each handle's y with its reference. An accumulating case must be named once.
 */
export async function runInterleavedCases(
  ctx: GpuContext,
  rng: Rng,
  gemms: Gemm[],
  cases: GemmCase[],
  order: number[],
  record: RecordCalls,
): Promise<GemmCaseResult[]> {
  const staged: StagedGemmCase[] = [];
  try {
    for (const [i, c] of cases.entries()) staged.push(await stageGemmCase(ctx, gemms[i]!, rng, c));
    const paths = await record((target) => order.map((i) => gemms[i]!.encode(target, staged[i]!.args)));
    const results: GemmCaseResult[] = [];
    for (const [i, s] of staged.entries()) results.push(await s.check(paths[order.lastIndexOf(i)] ?? []));
    return results;
  } finally {
    for (const s of staged) s.destroy();
  }
}

export function compare(got: Float32Array, ref: Float64Array, magnitude: Float64Array, allowance: Float64Array): Omit<GemmCaseResult, 'paths'> {
  let worst = 0;
  let num = 0;
  let den = 0;
  let nonFinite = 0;
  for (let i = 0; i < ref.length; i++) {
    const a = got[i]!;
    if (!Number.isFinite(a)) {
      nonFinite++;
      continue;
    }
    const d = Math.abs(a - ref[i]!);
    num += d * d;
    den += ref[i]! * ref[i]!;
    const bound = TOLERANCE * magnitude[i]! + allowance[i]!;
    worst = Math.max(worst, d === 0 ? 0 : d / bound);
  }
  return { worst, relL2: Math.sqrt(num / (den || 1)), nonFinite };
}
