import { defineKernel, defineUniforms, dtypeWgsl, wgslDtypeCode, type GpuContext, type RowPart, type Tensor } from '@qwen3-webgpu/tensor';
import common from './linear-common.wgsl';
import source from './linear.wgsl';
import serialSource from './linear-serial.wgsl';

const bindings = { x: 'read', w: 'read', w2: 'read', y: 'read_write' } as const;
const uniforms = defineUniforms({ rows: 'u32', n: 'u32', k: 'u32', y_stride: 'u32', col0: 'u32' });
/** GPUs: 32 lanes share each output column. CPU adapters: one invocation per column (see linear-serial.wgsl). */
const kernels = {
  gpu: { kernel: defineKernel({ label: 'linear', code: `${dtypeWgsl}\n${common}\n${source}`, bindings, uniforms }), cols: 8 },
  cpu: { kernel: defineKernel({ label: 'linear serial', code: `${dtypeWgsl}\n${common}\n${serialSource}`, bindings, uniforms }), cols: 64 },
};
const layoutFor = (ctx: GpuContext) => kernels[ctx.kernelLayout];

export interface LinearArgs {
  /** x: [rows, k] f32. */
  x: Tensor;
  /** W: [n, k] bf16/f16/f32, whole or as row parts (splitRows) when it exceeds one binding. */
  w: Tensor | RowPart[];
  /** y: [rows, n] f32 (row stride = n). */
  y: Tensor;
  rows: number;
  /** Add into y (residual stream) instead of overwriting. */
  accumulate?: boolean;
}

/** y (+)= x · Wᵀ. Several dispatches when W comes in parts (lm_head over a vocabulary larger than a binding). */
export function encodeLinear(ctx: GpuContext, pass: GPUComputePassEncoder, a: LinearArgs): void {
  const parts = Array.isArray(a.w) ? a.w : [{ rowStart: 0, rowCount: a.w.shape[0]!, tensor: a.w }];
  const whole = parts[0]!.tensor;
  const k = whole.shape[1]!;
  const n = parts.reduce((s, p) => s + p.rowCount, 0);
  if (a.x.dtype !== 'f32' || a.y.dtype !== 'f32') throw new TypeError('linear: x and y must be f32');
  if (a.x.numel < a.rows * k) throw new RangeError(`linear: x [${a.x.shape}] is smaller than [${a.rows}, ${k}]`);
  if (a.y.numel < a.rows * n) throw new RangeError(`linear: y [${a.y.shape}] is smaller than [${a.rows}, ${n}]`);
  const { kernel, cols } = layoutFor(ctx);
  const compiled = kernel.compile(ctx, { W_DTYPE: wgslDtypeCode(whole.dtype), ACCUMULATE: a.accumulate ? 1 : 0, SWIGLU: 0 });
  for (const p of parts) {
    compiled.encode(pass, { x: a.x, w: p.tensor, w2: p.tensor, y: a.y }, { rows: a.rows, n: p.rowCount, k, y_stride: n, col0: p.rowStart }, Math.ceil(p.rowCount / cols));
  }
}

/** h [rows, inter] = silu(x · Wgᵀ) ⊙ (x · Wuᵀ): Qwen3's MLP input, both projections in one pass over x. */
export function encodeSwiGlu(ctx: GpuContext, pass: GPUComputePassEncoder, a: { x: Tensor; wGate: Tensor; wUp: Tensor; h: Tensor; rows: number }): void {
  const [inter, k] = a.wGate.shape as [number, number];
  if (a.wUp.dtype !== a.wGate.dtype) throw new TypeError('swiglu: gate and up weights must share a dtype');
  const { kernel, cols } = layoutFor(ctx);
  kernel
    .compile(ctx, { W_DTYPE: wgslDtypeCode(a.wGate.dtype), ACCUMULATE: 0, SWIGLU: 1 })
    .encode(pass, { x: a.x, w: a.wGate, w2: a.wUp, y: a.h }, { rows: a.rows, n: inter, k, y_stride: inter, col0: 0 }, Math.ceil(inter / cols));
}
