// The GPU context both command lines open: with tensor cores asked for (Dawn's allow_unsafe_apis and f16 on NVIDIA),
// so the prefill GEMM takes subgroup matrices where the adapter has them (2× the FMA kernel's prompt speed on an H200,
// parity unchanged: packages/qwen3/BENCHMARKS.md). QWEN3_WEBGPU_TENSOR_CORES=0 opens the plain context instead.
import { createGpuContext, type GpuContext } from '@qwen3-webgpu/tensor';

export function openCliGpuContext(): Promise<GpuContext> {
  return createGpuContext({ tensorCores: process.env.QWEN3_WEBGPU_TENSOR_CORES !== '0' });
}
