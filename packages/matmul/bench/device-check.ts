// The tensor-core GEMM on a GPU that has subgroup matrices (the H200): correctness against the float64 reference
// first (the builtins' spelling and layout with one 16×16×16 product, then Qwen3-0.6B shapes, ragged shapes,
// out-of-f16-range activations, weights that need a scale and weights that must fall back), then timing of both
// paths at issue #14's shapes against the measured tensor-core peak: the tensor-core kernel's variants side by side
// ('inline', the first kernel, and 'presplit' in several tiles; each variant is checked for correctness before it
// is timed) and the FMA kernel. Prints a table and the best variant per shape; exit code 1 on any failure.
// --quick: fewer FMA tiles and tensor-core variants (the ones most likely to win), about a minute on the H200.
// --f16w-sweep: also f16w tiles from 16 × 16 to 64 × 64 (1–8 subgroups, 1–4 accumulators each, unsplit), each checked
// (plain and swiglu) and then timed per call and by stage at the shapes; combines with --quick.
// Always (--quick too): the f16w 64 × 64 tile (2 × 2 subgroups of 2 × 2 accumulators) unsplit, split 2, 3, 4 ways and
// by shape (the default), checked plain and with swiglu, timed at issue #14's shapes and o_proj's; the default
// ('auto'), presplit and those f16w tiles per call and by stage (split x, W to f16, the GEMM, the split-k sum).
// Bundle and run (from the repository root; see ../shared/device/README.md). tools/bundle.mjs, not a bare tsdown
// command: it carries the plugin that inlines the .wgsl imports.
//   node tools/bundle.mjs packages/matmul/bench/device-check.ts .device/matmul
//   source .device/prelude.sh && qnode .device/matmul/device-check.mjs [--quick]
// With $OUT set (the device runner's output folder) it also writes $OUT/matmul-device-check.json.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  createGpuContext,
  createRng,
  createTensor,
  defineKernel,
  defineUniforms,
  readFloat,
  roundToDtype,
  uploadTensor,
  type GpuContext,
} from '@qwen3-webgpu/tensor';
import { createGemm, subgroupMatrixSplitK, subgroupMatrixSupport, type FmaTile, type GemmOptions, type SubgroupMatrixTileOptions } from '../src/index.ts';
import {
  describeResult,
  f16ExactWeights,
  inOnePass,
  randomRows,
  runGemmCase,
  runInterleavedCases,
  withinBounds,
  type GemmCase,
} from '../src/gemm.test-helpers.ts';
import probeSource from './mma-probe.wgsl';
import { BENCH_SHAPES, measureMmaPeak, printStageTimings, printTimings, timeGemm, timeGemmStages, type GemmStageTiming, type GemmTiming } from './timing.ts';

const quick = process.argv.includes('--quick');
const sweep = process.argv.includes('--f16w-sweep');
const ctx = await createGpuContext({
  dawnFlags: ['enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia', 'disable-dawn-features=timestamp_quantization'],
});
console.log(`adapter: ${ctx.describe()}`);
console.log(
  `subgroup sizes ${ctx.info.subgroupMinSize}–${ctx.info.subgroupMaxSize}; subgroup-matrix configs: ` +
    (ctx.info.subgroupMatrixConfigs.map((c) => `${c.componentType}→${c.resultComponentType} M${c.M}N${c.N}K${c.K}`).join(', ') || 'none'),
);
const support = subgroupMatrixSupport(ctx);
console.log(`tensor-core GEMM: ${support.reason ? `NOT available: ${support.reason}` : `available (subgroup size ${support.subgroupSize})`}`);

const report: Record<string, unknown> = { adapter: ctx.describe(), configs: ctx.info.subgroupMatrixConfigs, support };
const failures: string[] = [];
const checks: { name: string; ok: boolean; detail: string }[] = [];
const rng = createRng(2026);

async function attempt(name: string, body: () => Promise<{ ok: boolean; detail: string }>): Promise<boolean> {
  try {
    const { ok, detail } = await body();
    checks.push({ name, ok, detail });
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}: ${detail}`);
    if (!ok) failures.push(name);
    return ok;
  } catch (err) {
    const detail = (err as Error).message.split('\n').slice(0, 12).join('\n      ');
    checks.push({ name, ok: false, detail });
    console.log(`FAIL ${name}: ${detail}`);
    failures.push(name);
    return false;
  }
}

// Tensor-core variants to compare: the default ('auto': f16w where W as f16 fits the cap, presplit over it), the first
// kernel ('inline', its own default tiles), the presplit kernel in tiles that trade workgroup count (132 SMs;
// [512, 1024] outputs have only 128 tiles of 64 × 64) against reuse, and f16w (the 64 × 64 tile of 2 × 2 subgroups
// of 2 × 2 accumulators unsplit and split 2, 3, 4 ways: the down and o_proj shapes decide). A tile without a variant
// is presplit; the f16w tiles other than the default name their split (1: none), since f16w splits by shape.
const F16W_WIDE = { sgM: 2, sgN: 2, tm: 2, tn: 2 } as const;
const F16W_WIDE_SPLITS = [1, 2, 3, 4] as const;
const sgVariants: [string, SubgroupMatrixTileOptions][] = (
  [
    ['auto (default)', { variant: 'auto' }],
    ['inline (first kernel)', { variant: 'inline' }],
    ['presplit 64x64/32', { tm: 2, tn: 2, prefetchA: false }],
    ['presplit 32x32/32', { prefetchA: false }],
    ['presplit 32x32/64', { bk: 64, prefetchA: false }],
    ['presplit 32x32/32 prefetch A (default over the cap)', {}],
    ['presplit 32x32/32 split-k 2', { splitK: 2, prefetchA: false }],
    ['presplit 16x32/32 2sg', { sgM: 1, sgN: 2, prefetchA: false }],
    ['presplit 32x64/32', { tn: 2, prefetchA: false }],
    ['f16w 32x32', { variant: 'f16w', sgM: 2, sgN: 2, tm: 1, tn: 1, splitK: 1 }],
    ['f16w 16x32 2sg (the former default)', { variant: 'f16w', sgM: 1, sgN: 2, tm: 1, tn: 1, splitK: 1 }],
    // The default under the cap ('auto' takes it too): 64 × 64, k split by shape (4 ways at [512, 1024] outputs).
    ['f16w 64x64 2x2 split by shape (default)', { variant: 'f16w' }],
    ...F16W_WIDE_SPLITS.map((splitK): [string, SubgroupMatrixTileOptions] => [
      `f16w 64x64 2x2 ${splitK > 1 ? `split-k ${splitK}` : 'unsplit'}`,
      { variant: 'f16w', ...F16W_WIDE, splitK },
    ]),
    ...(quick
      ? []
      : ([
          ['presplit 32x64/64 2sg', { sgM: 1, sgN: 2, tm: 2, tn: 2, bk: 64, prefetchA: false }],
          ['presplit 64x64/16', { tm: 2, tn: 2, bk: 16, prefetchA: false }],
          ['presplit 128x64/32 8sg', { sgM: 4, sgN: 2, tm: 2, tn: 2, prefetchA: false }],
          ['presplit 64x128/32 8sg', { sgM: 2, sgN: 4, tm: 2, tn: 2, prefetchA: false }],
          ['presplit 128x128/32 8sg', { sgM: 4, sgN: 2, tm: 2, tn: 4, prefetchA: false }],
          ['presplit 32x32/64', { tm: 1, tn: 1, bk: 64, prefetchA: false }],
          ['presplit 32x32/32 prefetch A', { tm: 1, tn: 1, prefetchA: true }],
          ['presplit 64x64/64 prefetch A', { tm: 2, tn: 2, bk: 64, prefetchA: true }],
          ['presplit 64x32/32', { tm: 2, tn: 1, prefetchA: false }],
          ['presplit 64x64/32 split-k 2', { tm: 2, tn: 2, splitK: 2, prefetchA: false }],
          ['presplit 64x64/32 split-k 4', { tm: 2, tn: 2, splitK: 4, prefetchA: false }],
          ['presplit 64x64/64 split-k 3', { tm: 2, tn: 2, bk: 64, splitK: 3, prefetchA: false }],
          ['presplit 64x64/32 prefetch A split-k 3', { tm: 2, tn: 2, prefetchA: true, splitK: 3 }],
          ['presplit 64x128/32 split-k 2', { tm: 2, tn: 4, splitK: 2, prefetchA: false }],
          ['f16w 64x128', { variant: 'f16w', sgM: 2, sgN: 2, tm: 2, tn: 4, splitK: 1 }],
          ['f16w 32x64', { variant: 'f16w', sgM: 2, sgN: 2, tm: 1, tn: 2, splitK: 1 }],
          ['f16w 128x128 8sg', { variant: 'f16w', sgM: 4, sgN: 2, tm: 2, tn: 4, splitK: 1 }],
          ['presplit 32x64/32 prefetch A', { tm: 1, tn: 2, prefetchA: true }],
        ] as [string, SubgroupMatrixTileOptions][])),
  ] as [string, SubgroupMatrixTileOptions][]
).map(([name, tile]) => [name, { variant: 'presplit', ...tile }]);
// --f16w-sweep: f16w tiles (sgM × sgN subgroups of tm × tn accumulators; rows × columns of y per workgroup), each timed
// per call and by stage (split x, W to f16, the GEMM alone) at every shape, against presplit and the default.
const f16wSweep: [string, SubgroupMatrixTileOptions][] = sweep
  ? (
      [
        [1, 1, 1, 1],
        [2, 1, 1, 1],
        [1, 2, 1, 1],
        [2, 2, 1, 1],
        [1, 4, 1, 1],
        [1, 1, 2, 2],
        [2, 1, 2, 1],
        [1, 2, 2, 1],
        [1, 2, 1, 2],
        [2, 2, 2, 1],
        [2, 2, 1, 2],
        [1, 2, 2, 2],
        [2, 2, 2, 2],
        [2, 4, 1, 1],
        [4, 2, 1, 1],
      ] as const
    ).map(([sgM, sgN, tm, tn]) => [`f16w ${sgM * tm * 16}x${sgN * tn * 16} ${sgM}x${sgN}sg/${tm}x${tn}acc`, { variant: 'f16w', sgM, sgN, tm, tn, splitK: 1 }])
  : [];
const brokenVariants = new Set<string>();

/** One 16×16×16 product through the builtins, against float64. */
async function probe(c: GpuContext): Promise<{ ok: boolean; detail: string }> {
  const kernel = defineKernel({
    label: 'mma probe',
    code: probeSource,
    bindings: { a: 'read', bt: 'read', c: 'read_write' },
    uniforms: defineUniforms({ unused: 'u32' }),
  }).compile(c, { SUBGROUP: support.subgroupSize });
  const A = roundToDtype(rng.normalArray(256), 'f16');
  const Bt = roundToDtype(rng.normalArray(256), 'f16');
  const C0 = rng.normalArray(256);
  const [a, bt, out] = [uploadTensor(c, [256], 'f16', A), uploadTensor(c, [256], 'f16', Bt), uploadTensor(c, [256], 'f32', C0)];
  try {
    await c.run((pass) => kernel.encode(pass, { a, bt, c: out }, { unused: 0 }, 1), 'mma probe');
    const got = await readFloat(out);
    let worst = 0;
    for (let i = 0; i < 16; i++) {
      for (let j = 0; j < 16; j++) {
        let s = C0[i * 16 + j]!;
        let m = Math.abs(s);
        for (let kk = 0; kk < 16; kk++) {
          s += A[i * 16 + kk]! * Bt[j * 16 + kk]!;
          m += Math.abs(A[i * 16 + kk]! * Bt[j * 16 + kk]!);
        }
        worst = Math.max(worst, Math.abs(got[i * 16 + j]! - s) / m);
      }
    }
    return { ok: worst <= 1e-6, detail: `max |err| / Σ|a·b| = ${worst.toExponential(2)}` };
  } finally {
    for (const t of [a, bt, out]) t.destroy();
  }
}

async function gemmCheck(options: GemmOptions, c: Omit<GemmCase, 'n' | 'k' | 'wDtype'>, expect: 'subgroup-matrix' | 'fma') {
  const gemm = createGemm(ctx, options);
  try {
    const r = await runGemmCase(ctx, gemm, rng, {
      ...c,
      n: options.n,
      k: options.k,
      wDtype: options.wDtype,
      ...(options.swiglu ? { swiglu: true } : {}),
      ...(options.accumulate ? { accumulate: true } : {}),
    });
    const pathOk = r.paths.every((p) => p === expect);
    const t = gemm.subgroupMatrixTile;
    const split = t ? subgroupMatrixSplitK(t, c.rows, options.n / (c.parts ?? 1), options.k) : 1;
    const kernel = t ? `; ${t.variant} ${t.sgM}x${t.sgN}/${t.tm}x${t.tn}${split > 1 ? ` split-k ${split}` : ''}` : '';
    return { ok: withinBounds(r) && pathOk, detail: `${describeResult(r)}${kernel}${pathOk ? '' : ` (expected ${expect})`}` };
  } finally {
    gemm.destroy();
  }
}

// 1. Correctness.
if (!support.reason) {
  await attempt('one 16×16×16 f16→f32 product (builtin spelling, row/col major)', () => probe(ctx));
  const sg = (o: Omit<GemmOptions, 'path'>): GemmOptions => ({ ...o, path: 'subgroup-matrix' });
  const qwen: [string, GemmOptions, number][] = [
    ['q_proj', sg({ n: 2048, k: 1024, wDtype: 'bf16' }), 512],
    ['k/v_proj', sg({ n: 1024, k: 1024, wDtype: 'bf16' }), 512],
    ['o_proj (accumulate)', sg({ n: 1024, k: 2048, wDtype: 'bf16', accumulate: true }), 512],
    ['gate/up (swiglu)', sg({ n: 3072, k: 1024, wDtype: 'bf16', swiglu: true }), 512],
    ['down_proj (accumulate)', sg({ n: 1024, k: 3072, wDtype: 'bf16', accumulate: true }), 512],
    ['[512,1024]·[4096,1024]ᵀ', sg({ n: 4096, k: 1024, wDtype: 'bf16' }), 512],
    ['lm_head slice, 3 parts', sg({ n: 151936 / 8, k: 1024, wDtype: 'bf16' }), 7],
  ];
  // The default ('auto': f16w at these shapes) and presplit (the default over the f16w cap: lm_head).
  for (const variant of ['auto', 'presplit'] as const) {
    for (const [name, options, rows] of qwen) {
      await attempt(`tensor cores (${variant}), Qwen3-0.6B ${name} [${rows}, ${options.k}]·[${options.n}, ${options.k}]ᵀ`, () =>
        gemmCheck({ ...options, subgroupMatrixTile: { variant } }, { rows, ...(name.includes('parts') ? { parts: 3 } : {}) }, 'subgroup-matrix'),
      );
    }
  }
  // Weights stored as f16 · 2^s fragments in place (storeAsF16, as the model stores its projections): the default f16w
  // kernel loads them with no W pass (weights drawn so that every one is exact in f16).
  const exactW = (count: number) => f16ExactWeights(rng, count);
  for (const [name, options, rows] of qwen.slice(0, 6)) {
    await attempt(`tensor cores (auto), W stored as f16, Qwen3-0.6B ${name} [${rows}, ${options.k}]·[${options.n}, ${options.k}]ᵀ`, () =>
      gemmCheck(options, { rows, storeF16: true, w: exactW(options.n * options.k), w2: exactW(options.n * options.k) }, 'subgroup-matrix'),
    );
  }
  for (const [rows, n, k] of [
    [70, 192, 128],
    [333, 1024, 1024],
  ] as const) {
    await attempt(`tensor cores (auto), W stored as f16, ragged rows, swiglu [${rows}, ${k}]·[${n}, ${k}]ᵀ`, () =>
      gemmCheck(sg({ n, k, wDtype: 'bf16', swiglu: true }), { rows, storeF16: true, w: exactW(n * k), w2: exactW(n * k) }, 'subgroup-matrix'),
    );
  }
  // The shared scratch on the real kernels: a layer's four GEMMs recorded into one pass as prefill records them, then
  // q|k|v again (its conversion and split of x redone over what the others left), each against its own reference.
  await attempt(
    "shared scratch: a layer's GEMMs in one pass (q|k|v in 3 parts, o_proj accumulate, gate/up swiglu, down accumulate, q|k|v again) [333 rows]",
    async () => {
      const layer: [GemmOptions, Omit<GemmCase, 'n' | 'k' | 'wDtype'>][] = [
        [sg({ n: 4096, k: 1024, wDtype: 'bf16' }), { rows: 333, parts: 3 }],
        [sg({ n: 1024, k: 2048, wDtype: 'bf16', accumulate: true }), { rows: 333, accumulate: true }],
        [sg({ n: 3072, k: 1024, wDtype: 'bf16', swiglu: true }), { rows: 333, swiglu: true }],
        [sg({ n: 1024, k: 3072, wDtype: 'bf16', accumulate: true }), { rows: 333, accumulate: true }],
      ];
      const gemms = layer.map(([o]) => createGemm(ctx, o));
      try {
        const cases = layer.map(([o, c]) => ({ ...c, n: o.n, k: o.k, wDtype: o.wDtype }));
        const results = await runInterleavedCases(ctx, rng, gemms, cases, [0, 1, 2, 3, 0], inOnePass(ctx));
        const variants = gemms.map((g) => g.subgroupMatrixTile?.variant).join(',');
        return {
          ok: results.every((r) => withinBounds(r) && r.paths.every((p) => p === 'subgroup-matrix')),
          detail: `${variants}: ${results.map((r) => `worst ${r.worst.toPrecision(3)} non-finite ${r.nonFinite} ${r.paths.join('+')}`).join('; ')}`,
        };
      } finally {
        for (const g of gemms) g.destroy();
      }
    },
  );
  for (const [rows, n, k] of [
    [1, 7, 9],
    [70, 130, 100],
    [13, 129, 1030],
    [65, 65, 17],
    [333, 1000, 1000],
  ] as const) {
    for (const variant of ['auto', 'presplit'] as const) {
      for (const wDtype of ['bf16', 'f16'] as const) {
        await attempt(`tensor cores (${variant}), ragged ${wDtype} [${rows}, ${k}]·[${n}, ${k}]ᵀ`, () =>
          gemmCheck(sg({ n, k, wDtype, subgroupMatrixTile: { variant } }), { rows }, 'subgroup-matrix'),
        );
      }
      await attempt(`tensor cores (${variant}), ragged swiglu [${rows}, ${k}]·[${n}, ${k}]ᵀ`, () =>
        gemmCheck(sg({ n, k, wDtype: 'bf16', swiglu: true, subgroupMatrixTile: { variant } }), { rows }, 'subgroup-matrix'),
      );
    }
  }
  // Every variant timed below, on a ragged shape first (a variant that fails here is not timed); the swept f16w
  // tiles with swiglu too (another module: PAIRED).
  for (const [name, tile] of [...sgVariants, ...f16wSweep]) {
    const ok = await attempt(`tensor cores ${name} [333, 1000]·[1000, 1000]ᵀ`, () =>
      gemmCheck(sg({ n: 1000, k: 1000, wDtype: 'bf16', subgroupMatrixTile: tile }), { rows: 333 }, 'subgroup-matrix'),
    );
    // f16w 64x64 2x2 with swiglu is its own module (PAIRED: 8 accumulators in main_2x2).
    const swigluOk =
      !(f16wSweep.some(([swept]) => swept === name) || name.startsWith('f16w 64x64 2x2')) ||
      (await attempt(`tensor cores ${name} swiglu [333, 1000]·[1000, 1000]ᵀ`, () =>
        gemmCheck(sg({ n: 1000, k: 1000, wDtype: 'bf16', swiglu: true, subgroupMatrixTile: tile }), { rows: 333 }, 'subgroup-matrix'),
      ));
    if (!ok || !swigluOk) brokenVariants.add(name);
  }
  await attempt('tensor cores inline, gate/up (swiglu) [512, 1024]·[3072, 1024]ᵀ', () =>
    gemmCheck(sg({ n: 3072, k: 1024, wDtype: 'bf16', swiglu: true, subgroupMatrixTile: { variant: 'inline' } }), { rows: 512 }, 'subgroup-matrix'),
  );
  await attempt('tensor cores inline, down_proj (accumulate) [512, 3072]·[1024, 3072]ᵀ', () =>
    gemmCheck(sg({ n: 1024, k: 3072, wDtype: 'bf16', accumulate: true, subgroupMatrixTile: { variant: 'inline' } }), { rows: 512 }, 'subgroup-matrix'),
  );
  await attempt('tensor cores presplit split-k 3, swiglu and accumulate [333, 1000]·[1000, 1000]ᵀ', async () => {
    const a = await gemmCheck(
      sg({ n: 1000, k: 1000, wDtype: 'bf16', swiglu: true, subgroupMatrixTile: { variant: 'presplit', splitK: 3 } }),
      { rows: 333 },
      'subgroup-matrix',
    );
    const b = await gemmCheck(
      sg({ n: 1000, k: 1000, wDtype: 'bf16', accumulate: true, subgroupMatrixTile: { variant: 'presplit', splitK: 3 } }),
      { rows: 333 },
      'subgroup-matrix',
    );
    return { ok: a.ok && b.ok, detail: `swiglu: ${a.detail}; accumulate: ${b.detail}` };
  });
  await attempt('tensor cores f16w, swiglu and accumulate in 3 parts [333, 1000]·[1000, 1000]ᵀ', async () => {
    const a = await gemmCheck(
      sg({ n: 1000, k: 1000, wDtype: 'bf16', swiglu: true, subgroupMatrixTile: { variant: 'f16w' } }),
      { rows: 333 },
      'subgroup-matrix',
    );
    const b = await gemmCheck(
      sg({ n: 1000, k: 1000, wDtype: 'bf16', accumulate: true, subgroupMatrixTile: { variant: 'f16w' } }),
      { rows: 333, parts: 3 },
      'subgroup-matrix',
    );
    return { ok: a.ok && b.ok, detail: `swiglu: ${a.detail}; accumulate: ${b.detail}` };
  });
  await attempt('tensor cores presplit bk 64, gate/up (swiglu) [333, 1000]·[1000, 1000]ᵀ', () =>
    gemmCheck(sg({ n: 1000, k: 1000, wDtype: 'bf16', swiglu: true, subgroupMatrixTile: { bk: 64 } }), { rows: 333 }, 'subgroup-matrix'),
  );
  await attempt('activations beyond f16 range (1e6, 3e38, 7e4 mixed with 1e-3) and far below it (1e-30)', async () => {
    const [rows, n, k] = [64, 256, 1024];
    const x = randomRows(rng, rows, k);
    for (let i = 0; i < k; i++) {
      x[1 * k + i] = rng.normal() * 1e6;
      x[2 * k + i] = rng.normal() * 1e-30;
      x[3 * k + i] = (rng.next() < 0.5 ? -1 : 1) * rng.uniform(1e37, 3e38);
      x[4 * k + i] = rng.normal() * (i % 7 === 0 ? 7e4 : 1e-3);
    }
    return gemmCheck(sg({ n, k, wDtype: 'bf16' }), { rows, x, w: rng.normalArray(n * k, 1e-3) }, 'subgroup-matrix');
  });
  await attempt('weights all below f16 normals (1e-7): exact through a power-of-two scale', () =>
    gemmCheck(sg({ n: 256, k: 1024, wDtype: 'bf16' }), { rows: 64, w: rng.normalArray(256 * 1024, 1e-7) }, 'subgroup-matrix'),
  );
  await attempt('weights spanning more than f16 normals (0.05 and 1e-12): fall back to FMA', () => {
    const w = rng.normalArray(256 * 1024, 0.05);
    w[77] = 1e-12;
    return gemmCheck(sg({ n: 256, k: 1024, wDtype: 'bf16' }), { rows: 64, w }, 'fma');
  });
  await attempt('f32 weights with 24-bit mantissas: fall back to FMA', () => gemmCheck(sg({ n: 256, k: 1024, wDtype: 'f32' }), { rows: 64 }, 'fma'));
} else {
  failures.push(`tensor-core path unavailable: ${support.reason}`);
}
await attempt('FMA path, Qwen3-0.6B gate/up (swiglu) [512, 1024]·[3072, 1024]ᵀ', () =>
  gemmCheck({ n: 3072, k: 1024, wDtype: 'bf16', path: 'fma', swiglu: true }, { rows: 512 }, 'fma'),
);
await attempt('FMA path, ragged [333, 1000]·[1000, 1000]ᵀ', () => gemmCheck({ n: 1000, k: 1000, wDtype: 'bf16', path: 'fma' }, { rows: 333 }, 'fma'));

// 2. Timing.
const timing = { repeats: 20, trials: 9, warmupMs: 100 };
const timings: GemmTiming[] = [];
let peak: number | undefined;
if (!support.reason) {
  try {
    const p = await measureMmaPeak(ctx, support.subgroupSize);
    peak = p.tflops;
    console.log(`\nmeasured subgroup-matrix peak (pure f16→f32 16×16×16 loop): ${p.tflops.toFixed(1)} TFLOP/s`);
  } catch (err) {
    console.log(`peak loop failed: ${(err as Error).message.split('\n')[0]}`);
    failures.push('peak loop');
  }
}
const sgTiles = sgVariants.filter(([name]) => !brokenVariants.has(name));
const fmaTiles: [string, Partial<FmaTile> | undefined][] = quick
  ? [
      ['default (k split by shape)', undefined],
      ['64x64 unsplit', { splitK: 1 }],
    ]
  : [
      ['default (k split by shape)', undefined],
      ['64x64 unsplit', { splitK: 1 }],
      ['64x64 k split 2', { splitK: 2 }],
      ['64x64 k split 8', { splitK: 8 }],
      ['128x64/8x4', { bm: 128, bn: 64, bk: 16, tm: 8, tn: 4 }],
      ['64x128/4x8', { bm: 64, bn: 128, bk: 16, tm: 4, tn: 8 }],
      ['128x128/8x8', { bm: 128, bn: 128, bk: 8, tm: 8, tn: 8 }],
    ];
// Issue #14's shapes and o_proj ([512, 2048]·[1024, 2048]ᵀ: 128 tiles of 64 × 64, like down).
const SHAPES = [...BENCH_SHAPES, { rows: 512, k: 2048, n: 1024 }] as const;
for (const { rows, n, k } of SHAPES) {
  if (!support.reason) {
    for (const [name, tile] of sgTiles) {
      try {
        timings.push(await timeGemm(ctx, `tensor cores ${name}`, { n, k, wDtype: 'bf16', path: 'subgroup-matrix', subgroupMatrixTile: tile }, rows, timing));
      } catch (err) {
        console.log(`timing tensor cores ${name} [${rows},${k}]·[${n},${k}]ᵀ failed: ${(err as Error).message.split('\n')[0]}`);
      }
    }
  }
  for (const [name, tile] of fmaTiles) {
    try {
      timings.push(await timeGemm(ctx, `fma ${name}`, { n, k, wDtype: 'bf16', path: 'fma', ...(tile ? { fmaTile: tile } : {}) }, rows, timing));
    } catch (err) {
      console.log(`timing fma ${name} [${rows},${k}]·[${n},${k}]ᵀ failed: ${(err as Error).message.split('\n')[0]}`);
    }
  }
}
const swigluVariants: [string, GemmOptions][] = [
  ...(support.reason
    ? []
    : sgTiles.map(([name, tile]): [string, GemmOptions] => [
        `tensor cores ${name}`,
        { n: 3072, k: 1024, wDtype: 'bf16', path: 'subgroup-matrix', subgroupMatrixTile: tile },
      ])),
  ['fma default', { n: 3072, k: 1024, wDtype: 'bf16', path: 'fma' }],
  ['fma unsplit', { n: 3072, k: 1024, wDtype: 'bf16', path: 'fma', fmaTile: { splitK: 1 } }],
];
for (const [name, options] of swigluVariants) {
  try {
    timings.push(await timeGemm(ctx, `${name} swiglu`, { ...options, swiglu: true }, 512, timing));
  } catch (err) {
    console.log(`timing ${name} swiglu failed: ${(err as Error).message.split('\n')[0]}`);
  }
}

// Per call as prefill pays it (the split of x, the conversion of W for f16w, the GEMM, all in one call) and each
// stage alone: the default and presplit always, the swept f16w tiles with --f16w-sweep.
const stageTimings: GemmStageTiming[] = [];
if (!support.reason) {
  const staged: [string, SubgroupMatrixTileOptions][] = [
    ['auto (default)', { variant: 'auto' }],
    ['presplit (default over the cap)', { variant: 'presplit' }],
    ...sgTiles.filter(([name]) => name.startsWith('f16w 64x64 2x2') || name.includes('former default')),
    ...f16wSweep.filter(([name]) => !brokenVariants.has(name)),
  ];
  const shapes = [...SHAPES.map((s) => ({ ...s, swiglu: false })), { rows: 512, k: 1024, n: 3072, swiglu: true }];
  for (const { rows, n, k, swiglu } of shapes) {
    for (const [name, tile] of staged) {
      const label = `${name}${swiglu ? ' swiglu' : ''}`;
      try {
        stageTimings.push(await timeGemmStages(ctx, label, { n, k, wDtype: 'bf16', path: 'subgroup-matrix', swiglu, subgroupMatrixTile: tile }, rows, timing));
        if (name === 'auto (default)') {
          const stored = `${label}, W stored as f16`;
          stageTimings.push(
            await timeGemmStages(ctx, stored, { n, k, wDtype: 'bf16', path: 'subgroup-matrix', swiglu, subgroupMatrixTile: tile }, rows, timing, true),
          );
        }
      } catch (err) {
        console.log(`stage timing ${label} [${rows},${k}]·[${n},${k}]ᵀ failed: ${(err as Error).message.split('\n')[0]}`);
      }
    }
  }
}

console.log(`\ncorrectness: ${checks.filter((c) => c.ok).length}/${checks.length} checks passed`);
printTimings(
  `GEMM timings on ${ctx.info.description || ctx.info.device}, bf16 weights, f32 x/y (TFLOP/s = useful 2·rows·n·k; ` +
    `the tensor-core path issues 2 MMAs per product (hi/lo split), so its ceiling is half the peak)` +
    (peak ? `; peak ${peak.toFixed(1)} TFLOP/s` : ''),
  timings,
  peak,
);
// The fastest tensor-core variant per shape (the default should be it, or close).
const best = new Map<string, GemmTiming>();
for (const t of timings) {
  if (!t.label.startsWith('tensor cores')) continue;
  const key = `[${t.rows},${t.k}]·[${t.n},${t.k}]ᵀ${t.label.endsWith('swiglu') ? ' swiglu' : ''}`;
  const b = best.get(key);
  if (!b || t.tflops > b.tflops) best.set(key, t);
}
console.log('\nfastest tensor-core variant per shape:');
for (const [key, t] of best) console.log(`  ${key.padEnd(34)} ${t.label.padEnd(44)} ${t.tflops.toFixed(2)} TFLOP/s`);
if (stageTimings.length) {
  printStageTimings(
    'One call as prefill pays it (call ms / TFLOP/s: every dispatch of the call; kernel TFLOP/s: the GEMM dispatch and its split-k sum; ' +
      'stages: each kind of dispatch replayed alone — split x, W to f16 (f16w: both halves with swiglu), gemm, split-k sum (the reduce of a k split, counted in kernel TFLOP/s))',
    stageTimings,
  );
  const bestCall = new Map<string, GemmStageTiming>();
  for (const t of stageTimings) {
    const key = `[${t.rows},${t.k}]·[${t.n},${t.k}]ᵀ${t.label.endsWith('swiglu') ? ' swiglu' : ''}`;
    const b = bestCall.get(key);
    if (!b || t.ms < b.ms) bestCall.set(key, t);
  }
  console.log('\nfastest per call (conversion included), by shape:');
  for (const [key, t] of bestCall) console.log(`  ${key.padEnd(34)} ${t.label.padEnd(44)} ${t.tile.padEnd(20)} ${t.tflops.toFixed(2)} TFLOP/s`);
}
report['checks'] = checks;
report['stageTimings'] = stageTimings;
report['peakTflops'] = peak;
report['timings'] = timings;
if (process.env['OUT']) writeFileSync(join(process.env['OUT'], 'matmul-device-check.json'), JSON.stringify(report, null, 2));
ctx.destroy();
if (failures.length) {
  console.error(`\ndevice-check: ${failures.length} failure(s): ${failures.join('; ')}`);
  process.exitCode = 1;
}
