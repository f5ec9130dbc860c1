import { defineKernel, defineUniforms, splitRows, type GpuContext, type Tensor } from '../src/index.ts';
import source from './row-sum.wgsl';

const kernel = defineKernel({
  label: 'row_sum_test',
  code: source,
  bindings: { x: 'read', y: 'read_write' },
  uniforms: defineUniforms({ rows: 'u32', n: 'u32', row_start: 'u32' }),
});

/** y [rows] f32 = row sums of x [rows, n] f32, one dispatch per binding part (a workgroup per row). */
export function encodeRowSum(ctx: GpuContext, pass: GPUComputePassEncoder, x: Tensor, y: Tensor, maxBindingBytes?: number): number {
  const k = kernel.compile(ctx);
  const parts = splitRows(x, maxBindingBytes);
  for (const part of parts) {
    k.encode(pass, { x: part.tensor, y }, { rows: part.rowCount, n: x.rowNumel, row_start: part.rowStart }, part.rowCount);
  }
  return parts.length;
}
