// GEMM benchmark on whatever adapter this is (lavapipe in CI: the FMA path). Checks correctness against the float64
// reference first, then times each available path at issue #14's shapes (or --rows/--shapes) and prints TFLOP/s.
// On the H200 use device-check.ts, which also measures the tensor-core peak.
//   pnpm --filter @qwen3-webgpu/matmul bench [-- --rows 64 --repeats 2]
import { parseArgs } from 'node:util';
import { createGpuContext, createRng } from '@qwen3-webgpu/tensor';
import { createGemm, subgroupMatrixSupport, type GemmPath } from '../src/index.ts';
import { describeResult, runGemmCase, withinBounds } from '../src/gemm.test-helpers.ts';
import { BENCH_SHAPES, printTimings, timeGemm, type GemmTiming } from './timing.ts';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: {
    /** Rows of x (default 512, the issue's prefill chunk; fewer keeps a software adapter quick). */
    rows: { type: 'string', default: '512' },
    repeats: { type: 'string', default: '3' },
    trials: { type: 'string', default: '5' },
  },
});
const rows = Number(values.rows);
const ctx = await createGpuContext({
  dawnFlags: ['enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia', 'disable-dawn-features=timestamp_quantization'],
});
console.log(`adapter: ${ctx.describe()}`);
const support = subgroupMatrixSupport(ctx);
const paths: GemmPath[] = support.reason ? ['fma'] : ['subgroup-matrix', 'fma'];
console.log(`paths: ${paths.join(', ')}${support.reason ? ` (tensor cores: ${support.reason})` : ''}`);

let failed = false;
const rng = createRng(11);
for (const path of paths) {
  const gemm = createGemm(ctx, { n: 1000, k: 1000, wDtype: 'bf16', path });
  const r = await runGemmCase(ctx, gemm, rng, { rows: Math.min(rows, 133), n: 1000, k: 1000, wDtype: 'bf16' });
  console.log(`check ${path} [${Math.min(rows, 133)}, 1000]·[1000, 1000]ᵀ: ${withinBounds(r) ? 'ok' : 'FAIL'} (${describeResult(r)})`);
  failed ||= !withinBounds(r);
  gemm.destroy();
}
const timings: GemmTiming[] = [];
for (const shape of BENCH_SHAPES) {
  for (const path of paths) {
    timings.push(
      await timeGemm(ctx, path, { n: shape.n, k: shape.k, wDtype: 'bf16', path }, rows, {
        repeats: Number(values.repeats),
        trials: Number(values.trials),
        warmup: 1,
        warmupMs: 0,
      }),
    );
  }
}
printTimings(`GEMM on ${ctx.info.description || ctx.info.device} (bf16 weights, f32 x/y)`, timings);
ctx.destroy();
if (failed) {
  console.error('gemm bench: a correctness check failed');
  process.exitCode = 1;
}
