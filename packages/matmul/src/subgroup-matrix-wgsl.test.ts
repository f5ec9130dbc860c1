// The native tensor-core modules (subgroup-matrix.wgsl + each kernel) through Dawn's WGSL compiler. Lavapipe offers
// no subgroup matrices, so the GEMM tests run emulated stand-ins; Dawn's Null backend does offer the feature
// (nothing executes there), so this checks that every variant and constant set of the real modules parses,
// resolves and validates (builtin spelling, matrix types, workgroup memory) before a GPU run finds out.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createGpuContext, type GpuContext } from '@qwen3-webgpu/tensor';
import { createGemm, type GemmOptions, type SubgroupMatrixTileOptions } from './index.ts';

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await createGpuContext({ dawnFlags: ['backend=null', 'enable-dawn-features=allow_unsafe_apis'] });
  if (!ctx.features.subgroupMatrix || !ctx.features.shaderF16) {
    throw new Error(`Dawn's Null backend should offer chromium-experimental-subgroup-matrix and shader-f16; got ${ctx.describe()}`);
  }
  // The Null adapter reports no matrix configurations and no subgroup size, which the GEMM needs to pick its kernel
  // (nothing runs on this device): a 16×16×16 configuration, and subgroups of 128 (its device's maximum, which Dawn
  // requires the workgroup size to be a multiple of for subgroup matrices).
  Object.assign(ctx.info, {
    subgroupMinSize: 128,
    subgroupMaxSize: 128,
    subgroupMatrixConfigs: [{ componentType: 'f16', resultComponentType: 'f32', M: 16, N: 16, K: 16 }],
  });
});
afterAll(() => ctx?.destroy());

// Small tiles of 2 subgroups: the Null adapter allows only 16 KiB of workgroup memory and 256 invocations (the tile sizes are consts of one module text,
// so the code validated is the same for bigger ones).
// {}: the default ('auto': f16w; its 2 × 2 subgroups of 128 exceed the Null adapter's invocations, so the narrow
// fallback). A handle compiles its tile's own k split at creation (split 1 for f16w's 'by shape').
const tiles: SubgroupMatrixTileOptions[] = [
  {},
  { variant: 'presplit', sgM: 1, sgN: 2, tm: 1, tn: 1 },
  { variant: 'presplit', sgM: 2, sgN: 1, tm: 2, tn: 1, bk: 64 },
  { variant: 'presplit', sgM: 2, sgN: 1, tm: 2, tn: 1, prefetchA: true },
  { variant: 'presplit', sgM: 2, sgN: 1, tm: 1, tn: 1, splitK: 3 },
  { variant: 'presplit', sgM: 2, sgN: 1, tm: 1, tn: 2, bk: 16 },
  { variant: 'inline', sgM: 1, sgN: 2, tm: 1, tn: 1 },
  { variant: 'f16w', sgM: 1, sgN: 2, tm: 2, tn: 2 },
  { variant: 'f16w', sgM: 1, sgN: 2, tm: 2, tn: 2, splitK: 3 },
  { variant: 'f16w', sgM: 1, sgN: 2, tm: 1, tn: 1, splitK: 2 },
];

it('every tensor-core variant compiles natively in Dawn (Null backend): dtypes, odd k, accumulate, swiglu', async () => {
  const cases: GemmOptions[] = [];
  for (const tile of tiles) {
    for (const wDtype of ['bf16', 'f16', 'f32'] as const) {
      for (const k of [1024, 1001]) {
        cases.push({ n: 3072, k, wDtype, subgroupMatrixTile: tile });
        cases.push({ n: 3072, k, wDtype, subgroupMatrixTile: tile, accumulate: true });
        cases.push({ n: 3072, k, wDtype, subgroupMatrixTile: tile, swiglu: true });
      }
    }
  }
  const failures: string[] = [];
  for (const options of cases) {
    ctx.device.pushErrorScope('validation');
    const gemm = createGemm(ctx, { ...options, path: 'subgroup-matrix' });
    const error = await ctx.device.popErrorScope();
    if (error) failures.push(`${JSON.stringify(options)}: ${error.message.split('\n').slice(0, 6).join(' | ')}`);
    gemm.destroy();
  }
  expect(failures, failures.join('\n')).toEqual([]);
  expect(cases.length).toBe(tiles.length * 3 * 2 * 3);
});
