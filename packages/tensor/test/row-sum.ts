import { defineKernel, defineUniforms, splitRows, type GpuContext, type Tensor } from '../src/index.ts';
import source from './row-sum.wgsl';

/** A row-sum kernel of its own (its own pipelines and compile count): row-sum.wgsl under `label`. */
export function defineRowSum(label: string) {
  return defineKernel({
    label,
    code: source,
    bindings: { x: 'read', y: 'read_write' },
    uniforms: defineUniforms({ rows: 'u32', n: 'u32', row_start: 'u32' }),
  });
}

const kernel = defineRowSum('row_sum_test');

/** y [rows] f32 = row sums of x [rows, n] f32, one dispatch per binding part (a workgroup per row). */
export function encodeRowSum(ctx: GpuContext, pass: GPUComputePassEncoder, x: Tensor, y: Tensor, maxBindingBytes?: number): number {
  const k = kernel.compile(ctx);
  const parts = splitRows(x, maxBindingBytes);
  for (const part of parts) {
    k.encode(pass, { x: part.tensor, y }, { rows: part.rowCount, n: x.rowNumel, row_start: part.rowStart }, part.rowCount);
  }
  return parts.length;
}
