// @qwen3-webgpu/rmsnorm-f32 in a browser page, from its packed tarball: RMSNormF32 against rmsnormReference (float64)
// over Qwen3's hidden size and ragged ones, several dtypes, outputs poisoned with NaN before each run.
import { createGpuContext, createRng, createTensor, fillTensor, readFloat, roundToDtype, uploadTensor } from '@qwen3-webgpu/tensor';
import { createRmsNormF32, rmsnormReference, type RmsNormDtype } from '@qwen3-webgpu/rmsnorm-f32';
import { check, report, type Check } from './report.ts';

const rng = createRng();
report('rmsnorm-f32', rng.seed, async () => {
  const ctx = await createGpuContext();
  const checks: Check[] = [];
  const cases: [number, number, RmsNormDtype, RmsNormDtype][] = [
    [1, 1024, 'bf16', 'bf16'], // Qwen3-0.6B decode
    [7, 1024, 'f32', 'bf16'],
    [5, 1000, 'f16', 'f32'],
    [3, 127, 'bf16', 'f16'],
    [2, 4099, 'f32', 'f32'],
  ];
  for (const [rows, n, xDtype, wDtype] of cases) {
    const xHost = Float32Array.from({ length: rows * n }, () => rng.uniform(-1, 1) * 2 ** rng.uniform(-4, 4));
    const wHost = Float32Array.from({ length: n }, () => (rng.next() < 0.5 ? -1 : 1) * rng.uniform(0.5, 1.5));
    const x = uploadTensor(ctx, [rows, n], xDtype, roundToDtype(xHost, xDtype));
    const w = uploadTensor(ctx, [n], wDtype, roundToDtype(wHost, wDtype));
    const y = createTensor(ctx, [rows, n], 'f32');
    fillTensor(y, NaN);
    const norm = createRmsNormF32(ctx, { n, eps: 1e-6 });
    await ctx.run((pass) => norm.encode(pass, { x, w, y, rows }));
    // The package's own acceptance bound (rmsnorm.test-helpers.ts): rel L2 ≤ 1e-5, max err ≤ 1e-5·max|ref| + 1e-6.
    checks.push(
      check(
        `x ${xDtype} [${rows}, ${n}], w ${wDtype} (${norm.path})`,
        await readFloat(y),
        rmsnormReference(xHost, wHost, rows, n, 1e-6, xDtype, wDtype),
        1e-5,
        1e-6,
      ),
    );
    for (const t of [x, w, y]) t.destroy();
  }
  const adapter = ctx.describe();
  ctx.destroy();
  return { adapter, checks };
});
