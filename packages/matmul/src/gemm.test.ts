import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createRng,
  createTensor,
  defineKernel,
  defineUniforms,
  DispatchList,
  fillTensor,
  readBytes,
  readFloat,
  roundToDtype,
  uploadTensor,
  writeTensor,
  xSplitWgsl,
  type GpuContext,
} from '@qwen3-webgpu/tensor';
import { openTestContext } from '@qwen3-webgpu/tensor/testing';
import { createGemm, type GemmDtype, type GemmOptions, type SplitSums, type SubgroupMatrixTileOptions } from './index.ts';
import { compare, describeResult, randomRows, runGemmCase, stageGemmCase, withinBounds, type GemmCase } from './gemm.test-helpers.ts';
import { gemmReference } from './reference.ts';
import { acquireScratch } from './scratch.ts';
import { checkWeightRange, checkWeightRanges, decide } from './weight-range.ts';

const rng = createRng();
console.log(`matmul tests: seed ${rng.seed}`);
const DTYPES: readonly GemmDtype[] = ['bf16', 'f16', 'f32'];
// [rows, n, k]: none a multiple of any tile edge, odd k (16-bit weights not word-aligned per row), k below one tile.
const RAGGED = [
  [1, 7, 9],
  [5, 37, 64],
  [70, 130, 100],
  [13, 129, 1030],
  [65, 65, 17],
] as const;
// Qwen3-0.6B projections [n, k]: q, k/v, o, gate/up, down.
const QWEN = [
  [2048, 1024],
  [1024, 1024],
  [1024, 2048],
  [3072, 1024],
  [1024, 3072],
] as const;

// A producer of x already split, as a model's kernel would write it with tensor's xSplitWgsl: one invocation per row.
const splitProducer = defineKernel({
  label: 'test split producer',
  code: `${xSplitWgsl}
struct Params { rows: u32, k: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> xs: array<u32>;
@group(0) @binding(2) var<storage, read_write> row_exp: array<i32>;
@group(0) @binding(3) var<uniform> params: Params;
@compute @workgroup_size(1)
fn main(@builtin(workgroup_id) wid: vec3<u32>) {
  let row = wid.x;
  var m = 0u;
  for (var c = 0u; c < params.k; c++) {
    m = max(m, bitcast<u32>(x[row * params.k + c]) & 0x7fffffffu);
  }
  let t = split_row_exp(m);
  row_exp[row] = t;
  let kt_count = split_kt_count(params.k);
  for (var c = 0u; c < kt_count * 16u; c += 2u) {
    var v = vec2<f32>(0.0);
    if (c < params.k) {
      v.x = ldexp(x[row * params.k + c], -t);
    }
    if (c + 1u < params.k) {
      v.y = ldexp(x[row * params.k + c + 1u], -t);
    }
    let words = split_pair(v);
    xs[split_word(row, c, kt_count)] = words.x;
    xs[split_word(row, c, kt_count) + 128u] = words.y;
  }
}`,
  bindings: { x: 'read', xs: 'read_write', row_exp: 'read_write' },
  uniforms: defineUniforms({ rows: 'u32', k: 'u32' }),
});

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await openTestContext();
});
afterAll(() => ctx?.destroy());

async function check(options: GemmOptions, c: Omit<GemmCase, 'n' | 'k' | 'wDtype'>, expectPath?: 'fma' | 'subgroup-matrix') {
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
    const label = `${options.wDtype} [${c.rows}, ${options.k}]·[${options.n}, ${options.k}]ᵀ ${options.swiglu ? 'swiglu ' : ''}${options.accumulate ? 'accumulate ' : ''}${c.parts ? `${c.parts} parts ` : ''}: ${describeResult(r)}`;
    expect(withinBounds(r), label).toBe(true);
    if (expectPath)
      expect(
        r.paths.every((p) => p === expectPath),
        label,
      ).toBe(true);
    return r;
  } finally {
    gemm.destroy();
  }
}

describe('FMA path vs the float64 reference', () => {
  for (const wDtype of DTYPES) {
    for (const [rows, n, k] of RAGGED) {
      it(`${wDtype} [${rows}, ${k}]·[${n}, ${k}]ᵀ: overwrite, accumulate, swiglu, in parts`, async () => {
        await check({ n, k, wDtype, path: 'fma' }, { rows }, 'fma');
        await check({ n, k, wDtype, path: 'fma', accumulate: true }, { rows }, 'fma');
        await check({ n, k, wDtype, path: 'fma', swiglu: true }, { rows }, 'fma');
        await check({ n, k, wDtype, path: 'fma' }, { rows, parts: 3 }, 'fma');
      });
    }
  }
  for (const [n, k] of QWEN) {
    it(`bf16 Qwen3-0.6B [rows, ${k}]·[${n}, ${k}]ᵀ, 512 and 67 rows`, async () => {
      await check({ n, k, wDtype: 'bf16', path: 'fma', accumulate: k !== 1024 || n === 1024 }, { rows: 67 }, 'fma');
      if (n === 3072) await check({ n, k, wDtype: 'bf16', path: 'fma', swiglu: true }, { rows: 512 }, 'fma');
      else await check({ n, k, wDtype: 'bf16', path: 'fma' }, { rows: 512 }, 'fma');
    });
  }
  it('f16 and f32 weights at a Qwen3 shape; other tile shapes', async () => {
    await check({ n: 1024, k: 2048, wDtype: 'f16', path: 'fma' }, { rows: 96 }, 'fma');
    await check({ n: 1024, k: 1024, wDtype: 'f32', path: 'fma' }, { rows: 96 }, 'fma');
    await check({ n: 130, k: 100, wDtype: 'bf16', path: 'fma', fmaTile: { bm: 32, bn: 128, bk: 8, tm: 4, tn: 8 } }, { rows: 70 }, 'fma');
    await check({ n: 130, k: 101, wDtype: 'bf16', path: 'fma', fmaTile: { bm: 128, bn: 64, bk: 16, tm: 8, tn: 4 } }, { rows: 133 }, 'fma');
  });
  it('square and narrow tiles (64 × 64, 32 × 64, 32 × 32) on a ragged shape', async () => {
    for (const [bm, bn] of [
      [64, 64],
      [32, 64],
      [32, 32],
    ] as const) {
      await check({ n: 130, k: 101, wDtype: 'bf16', path: 'fma', fmaTile: { bm, bn, bk: 16, tm: 4, tn: 4 } }, { rows: 70 }, 'fma');
      await check({ n: 130, k: 101, wDtype: 'bf16', path: 'fma', swiglu: true, fmaTile: { bm, bn, bk: 16, tm: 4, tn: 4 } }, { rows: 70 }, 'fma');
    }
  });
  it('k split over 1, 3 and 5 workgroups per tile (slices past k left empty), overwrite, accumulate, swiglu', async () => {
    for (const splitK of [1, 3, 5]) {
      const fmaTile = { splitK };
      await check({ n: 70, k: 40, wDtype: 'bf16', path: 'fma', fmaTile }, { rows: 33 }, 'fma');
      await check({ n: 130, k: 301, wDtype: 'bf16', path: 'fma', accumulate: true, fmaTile }, { rows: 70 }, 'fma');
      await check({ n: 130, k: 301, wDtype: 'f32', path: 'fma', swiglu: true, fmaTile }, { rows: 70 }, 'fma');
      await check({ n: 130, k: 301, wDtype: 'f16', path: 'fma', fmaTile }, { rows: 70, parts: 3 }, 'fma');
    }
  });
  it('handles of one context share their scratch: three k-split GEMMs of different shapes in one pass', async () => {
    const cases = [
      { rows: 70, n: 130, k: 301, swiglu: false },
      { rows: 9, n: 40, k: 1030, swiglu: true },
      { rows: 33, n: 200, k: 96, swiglu: false },
    ];
    const runs = cases.map((c) => {
      const gemm = createGemm(ctx, { n: c.n, k: c.k, wDtype: 'bf16', path: 'fma', swiglu: c.swiglu, fmaTile: { splitK: 3 } });
      const xs = randomRows(rng, c.rows, c.k);
      const ws = rng.normalArray(c.n * c.k, 0.05);
      const w2s = c.swiglu ? rng.normalArray(c.n * c.k, 0.05) : undefined;
      const t = {
        x: uploadTensor(ctx, [c.rows, c.k], 'f32', xs),
        w: uploadTensor(ctx, [c.n, c.k], 'bf16', ws),
        w2: w2s ? uploadTensor(ctx, [c.n, c.k], 'bf16', w2s) : undefined,
        y: createTensor(ctx, [c.rows, c.n], 'f32'),
      };
      fillTensor(t.y, NaN);
      return { c, gemm, xs, ws, w2s, t };
    });
    try {
      // Each GEMM's sums are read by its reduce before the next GEMM writes them: the queue's order is the guarantee.
      await ctx.run((pass) => {
        for (const r of runs) r.gemm.encode(pass, { x: r.t.x, w: r.t.w, ...(r.t.w2 ? { w2: r.t.w2 } : {}), y: r.t.y, rows: r.c.rows });
      });
      for (const r of runs) {
        const ref = gemmReference(r.xs, r.ws, r.c.rows, r.c.n, r.c.k, 'bf16', r.w2s ? { w2: r.w2s } : {});
        const result = compare(await readFloat(r.t.y), ref.y, ref.magnitude, ref.allowance);
        expect(withinBounds({ ...result, paths: [] }), `[${r.c.rows}, ${r.c.k}]·[${r.c.n}, ${r.c.k}]ᵀ: ${describeResult({ ...result, paths: [] })}`).toBe(true);
      }
    } finally {
      for (const r of runs) {
        r.gemm.destroy();
        for (const t of [r.t.x, r.t.w, r.t.w2, r.t.y]) t?.destroy();
      }
    }
  });
  it('the shared scratch lives until the last handle of its context is destroyed', () => {
    const a = acquireScratch(ctx);
    const b = acquireScratch(ctx);
    const small = a.get('test', 10);
    expect(b.get('test', 1000)).toBe(small); // one buffer per purpose, at least 1024 elements
    const grown = b.get('test', 5000);
    expect(grown.numel).toBe(8192);
    a.release();
    expect(small.destroyed || grown.destroyed).toBe(false);
    b.release();
    expect(small.destroyed && grown.destroyed).toBe(true);
    expect(() => b.get('test', 1)).toThrow(/after destroy/);
  });
  it('massive and tiny activation rows, large weights', async () => {
    const [rows, n, k] = [9, 70, 300];
    const x = randomRows(rng, rows, k);
    for (let i = 0; i < k; i++) {
      x[1 * k + i] = rng.normal() * 1e6;
      x[2 * k + i] = rng.normal() * 1e-30;
    }
    await check({ n, k, wDtype: 'bf16', path: 'fma' }, { rows, x, w: rng.normalArray(n * k, 300) }, 'fma');
  });
  it('a lm_head-sized vocabulary in parts (151936 × 64)', async () => {
    await check({ n: 151936, k: 64, wDtype: 'bf16', path: 'fma' }, { rows: 3, parts: 4 }, 'fma');
  });
});

// The tensor-core kernels with plain-WGSL stand-ins for the matrix builtins (lavapipe has no subgroup matrices):
// everything but the builtins themselves (tiling, the hi/lo split of x, row and weight scales, edges, epilogue, the
// weight check and the fallback). Small tiles keep the emulation's compile time (~10 s a pipeline) bearable.
describe('subgroup-matrix path, builtins emulated', () => {
  // Variant 'auto' would take f16w at these small shapes: these tests name the kernel they check
  // (gemm-f16w-shared.test.ts checks 'auto').
  const small: SubgroupMatrixTileOptions = { variant: 'presplit', sgM: 1, sgN: 2, tm: 1, tn: 1 };
  const sg = (o: Omit<GemmOptions, 'path'>): GemmOptions => ({
    ...o,
    subgroupMatrixTile: { ...small, ...o.subgroupMatrixTile },
    path: 'subgroup-matrix',
    emulateSubgroupMatrix: true,
  });

  it('presplit: bf16 ragged shapes, odd k, 2 × 2 subgroups of 2 × 2 accumulators, k steps of 16 and 64', async () => {
    for (const [rows, n, k] of [
      [70, 130, 100],
      [5, 37, 64],
      [1, 7, 9],
    ] as const) {
      await check(sg({ n, k, wDtype: 'bf16', subgroupMatrixTile: { sgM: 2, sgN: 2, tm: 2, tn: 2 } }), { rows }, 'subgroup-matrix');
    }
    await check(sg({ n: 130, k: 200, wDtype: 'bf16', subgroupMatrixTile: { bk: 16 } }), { rows: 81 }, 'subgroup-matrix');
    await check(sg({ n: 70, k: 136, wDtype: 'bf16', subgroupMatrixTile: { sgM: 2, sgN: 1, bk: 64 } }), { rows: 35 }, 'subgroup-matrix');
    // k past what the row-scale pass keeps in registers (4,096 columns): its x read twice instead, odd k.
    await check(sg({ n: 24, k: 4099, wDtype: 'bf16' }), { rows: 5 }, 'subgroup-matrix');
  });
  it('presplit with k split over workgroups (a scratch of partial sums and a reduce pass): ragged, empty slices, swiglu, accumulate', async () => {
    const tile = { sgM: 2, sgN: 1, bk: 16, splitK: 3 };
    await check(sg({ n: 130, k: 200, wDtype: 'bf16', subgroupMatrixTile: tile }), { rows: 70 }, 'subgroup-matrix');
    await check(sg({ n: 70, k: 200, wDtype: 'bf16', swiglu: true, subgroupMatrixTile: tile }), { rows: 37 }, 'subgroup-matrix');
    await check(sg({ n: 130, k: 200, wDtype: 'bf16', accumulate: true, subgroupMatrixTile: tile }), { rows: 40, parts: 2 }, 'subgroup-matrix');
    // 2 k steps over 5 slices: three slices are empty and add zeros.
    await check(sg({ n: 40, k: 64, wDtype: 'bf16', subgroupMatrixTile: { splitK: 5 } }), { rows: 9 }, 'subgroup-matrix');
  });
  const f16w = (o: Omit<GemmOptions, 'path'>) => sg({ ...o, subgroupMatrixTile: { variant: 'f16w', ...o.subgroupMatrixTile } });
  it('f16w (W converted to f16 fragments per call): ragged bf16, odd-k f16, f32, swiglu, accumulate, parts', async () => {
    await check(f16w({ n: 130, k: 100, wDtype: 'bf16', subgroupMatrixTile: { sgM: 2, sgN: 1, tm: 1, tn: 2 } }), { rows: 70 }, 'subgroup-matrix');
    await check(f16w({ n: 130, k: 101, wDtype: 'f16' }), { rows: 33 }, 'subgroup-matrix');
    await check(f16w({ n: 40, k: 67, wDtype: 'f32' }), { rows: 9, w: roundToDtype(rng.normalArray(40 * 67, 0.05), 'f16') }, 'subgroup-matrix');
    await check(f16w({ n: 70, k: 130, wDtype: 'bf16', swiglu: true }), { rows: 37 }, 'subgroup-matrix');
    await check(f16w({ n: 129, k: 96, wDtype: 'bf16', accumulate: true }), { rows: 40, parts: 3 }, 'subgroup-matrix');
    // 2 × 2 accumulators a subgroup (the unrolled main loop), ragged on every edge, overwrite and accumulate.
    await check(f16w({ n: 130, k: 100, wDtype: 'bf16', subgroupMatrixTile: { sgM: 2, sgN: 1, tm: 2, tn: 2 } }), { rows: 70 }, 'subgroup-matrix');
    await check(
      f16w({ n: 70, k: 67, wDtype: 'f16', accumulate: true, subgroupMatrixTile: { sgM: 1, sgN: 1, tm: 2, tn: 2 } }),
      { rows: 33, parts: 2 },
      'subgroup-matrix',
    );
    // The default choice for outputs of ≥ 256 tiles of 64 × 64 (here 16 × 17, ragged): the 2 × 2-accumulator kernel.
    await check(sg({ n: 1030, k: 40, wDtype: 'bf16', accumulate: true, subgroupMatrixTile: { variant: 'auto' } }), { rows: 1000 }, 'subgroup-matrix');
  });
  const wide = { sgM: 2, sgN: 2, tm: 2, tn: 2 } as const;
  it('f16w 2 × 2 subgroups of 2 × 2 accumulators with swiglu (gate and up in named variables): ragged, f16 odd k', async () => {
    await check(f16w({ n: 150, k: 200, wDtype: 'bf16', swiglu: true, subgroupMatrixTile: { ...wide, splitK: 1 } }), { rows: 70 }, 'subgroup-matrix');
    await check(f16w({ n: 70, k: 67, wDtype: 'f16', swiglu: true, subgroupMatrixTile: { ...wide, splitK: 1 } }), { rows: 33 }, 'subgroup-matrix');
  });
  it('f16w with k split over workgroups (the reduce pass presplit uses): ragged swiglu, accumulate in parts, empty slices', async () => {
    // Every 2 × 2 kernel compiles for minutes on lavapipe: one per split here; overwrite with a split is the default
    // for few-tile outputs (gemm-f16w-shared.test.ts runs it).
    await check(f16w({ n: 150, k: 200, wDtype: 'bf16', swiglu: true, subgroupMatrixTile: { ...wide, splitK: 3 } }), { rows: 70 }, 'subgroup-matrix');
    // 3 k steps of 16 over 4 slices: the last is empty and adds zeros.
    await check(
      f16w({ n: 129, k: 40, wDtype: 'bf16', accumulate: true, subgroupMatrixTile: { ...wide, splitK: 4 } }),
      { rows: 40, parts: 3 },
      'subgroup-matrix',
    );
    // The looped (one-accumulator) kernel splits too: 3 steps over 5 slices, two empty.
    await check(f16w({ n: 70, k: 40, wDtype: 'f16', swiglu: true, subgroupMatrixTile: { splitK: 5 } }), { rows: 37 }, 'subgroup-matrix');
  });
  it('presplit with the left fragments prefetched a k step ahead', async () => {
    await check(sg({ n: 130, k: 200, wDtype: 'bf16', subgroupMatrixTile: { sgM: 2, sgN: 1, bk: 16, prefetchA: true } }), { rows: 70 }, 'subgroup-matrix');
  });
  it('presplit: f16 weights, accumulate, in parts', async () => {
    await check(sg({ n: 130, k: 101, wDtype: 'f16' }), { rows: 33 }, 'subgroup-matrix');
    await check(sg({ n: 129, k: 96, wDtype: 'f16' }), { rows: 20 }, 'subgroup-matrix');
    await check(sg({ n: 129, k: 96, wDtype: 'bf16', accumulate: true }), { rows: 40 }, 'subgroup-matrix');
    await check(sg({ n: 129, k: 96, wDtype: 'bf16' }), { rows: 17, parts: 3 }, 'subgroup-matrix');
  });
  it('presplit: swiglu, ragged and word-aligned k', async () => {
    await check(sg({ n: 70, k: 130, wDtype: 'bf16', swiglu: true }), { rows: 37 }, 'subgroup-matrix');
    await check(sg({ n: 70, k: 128, wDtype: 'bf16', swiglu: true }), { rows: 19 }, 'subgroup-matrix');
  });
  it('presplit: a Qwen3 shape: [48, 1024]·[96 of 3072, 1024]ᵀ', async () => {
    await check(sg({ n: 96, k: 1024, wDtype: 'bf16' }), { rows: 48 }, 'subgroup-matrix');
  });
  it('inline (the first kernel): bf16 ragged, f16 odd k, swiglu, accumulate', async () => {
    const inline = (o: Omit<GemmOptions, 'path'>) => sg({ ...o, subgroupMatrixTile: { variant: 'inline', ...o.subgroupMatrixTile } });
    await check(inline({ n: 130, k: 100, wDtype: 'bf16', subgroupMatrixTile: { sgM: 1, sgN: 2, tm: 2, tn: 2 } }), { rows: 70 }, 'subgroup-matrix');
    await check(inline({ n: 130, k: 101, wDtype: 'f16' }), { rows: 33 }, 'subgroup-matrix');
    await check(inline({ n: 70, k: 130, wDtype: 'bf16', swiglu: true }), { rows: 37 }, 'subgroup-matrix');
    await check(inline({ n: 129, k: 96, wDtype: 'bf16', accumulate: true }), { rows: 40 }, 'subgroup-matrix');
  });
  it('activations beyond f16 range (±1e6, 3e38) and far below it (1e-30), scaled per row (presplit and inline)', async () => {
    const [rows, n, k] = [8, 40, 100];
    const x = randomRows(rng, rows, k);
    for (let i = 0; i < k; i++) {
      x[1 * k + i] = rng.normal() * 1e6;
      x[2 * k + i] = rng.normal() * 1e-30;
      x[3 * k + i] = (rng.next() < 0.5 ? -1 : 1) * rng.uniform(1e37, 3e38);
      x[4 * k + i] = rng.normal() * (i % 7 === 0 ? 7e4 : 1e-3); // one row mixing both ends
    }
    const w = rng.normalArray(n * k, 1e-3);
    await check(sg({ n, k, wDtype: 'bf16' }), { rows, x, w }, 'subgroup-matrix');
    await check(sg({ n, k, wDtype: 'bf16', subgroupMatrixTile: { variant: 'inline' } }), { rows, x, w }, 'subgroup-matrix');
  });
  it("a caller's x already split (GemmArgs.xSplit, written with xSplitWgsl) replaces the row-scale pass: x poisoned", async () => {
    const [rows, n, k] = [37, 70, 100];
    const x = randomRows(rng, rows, k);
    for (let i = 0; i < k; i++) x[3 * k + i] = rng.normal() * 1e6; // a row scaled down, one far below f16 normals
    for (let i = 0; i < k; i++) x[5 * k + i] = rng.normal() * 1e-30;
    for (const tile of [{ variant: 'f16w', sgM: 2, sgN: 1, tm: 1, tn: 2 }, { variant: 'presplit' }] as const) {
      const gemm = createGemm(ctx, sg({ n, k, wDtype: 'bf16', subgroupMatrixTile: tile }));
      const staged = await stageGemmCase(ctx, gemm, rng, { rows, n, k, wDtype: 'bf16', x });
      const xSplit = { xs: createTensor(ctx, [gemm.splitXWords(rows)], 'u32'), rowExp: createTensor(ctx, [rows], 'i32') };
      const list = new DispatchList(ctx, 'xSplit test');
      try {
        fillTensor(xSplit.xs, 0x7fff7fff); // NaN halves wherever the producer does not write
        await ctx.run(
          (pass) => splitProducer.compile(ctx).encode(pass, { x: staged.args.x, xs: xSplit.xs, row_exp: xSplit.rowExp }, { rows, k }, rows),
          'split producer',
        );
        fillTensor(staged.args.x, NaN);
        gemm.encode(list, { ...staged.args, xSplit });
        // f16w converts W in a pass of its own; nothing splits x.
        expect(list.describe().map((d) => d.tag)).toEqual(tile.variant === 'f16w' ? ['gemm W to f16', 'gemm'] : ['gemm']);
        await ctx.run((pass) => list.encode(pass), 'gemm');
        const r = await staged.check(['subgroup-matrix']);
        expect(withinBounds(r), `${tile.variant}: ${describeResult(r)}`).toBe(true);
        expect(() => gemm.encode(list, { ...staged.args, xSplit: { ...xSplit, xs: xSplit.xs.rows(0, 8) } })).toThrow(/xSplit.xs must be u32 with at least/);
      } finally {
        list.destroy();
        staged.destroy();
        xSplit.xs.destroy();
        xSplit.rowExp.destroy();
        gemm.destroy();
      }
    }
    // Handles that never read a pre-split x say so.
    const fma = createGemm(ctx, { n, k, wDtype: 'bf16', path: 'fma' });
    expect(fma.splitXWords(rows)).toBe(0);
    fma.destroy();
  });
  it('weights all below f16 normals (1e-7) enter exactly through a power-of-two scale', async () => {
    const gemm = createGemm(ctx, sg({ n: 40, k: 64, wDtype: 'bf16' }));
    const r = await runGemmCase(ctx, gemm, rng, { rows: 9, n: 40, k: 64, wDtype: 'bf16', w: rng.normalArray(40 * 64, 1e-7) });
    expect(withinBounds(r), describeResult(r)).toBe(true);
    expect(r.paths).toEqual(['subgroup-matrix']);
  });
  it('weights spanning more than f16 normals (0.05 and 1e-12), and f32 weights with 24-bit mantissas, fall back to FMA', async () => {
    const w = rng.normalArray(40 * 64, 0.05);
    w[5] = 1e-12;
    await check(sg({ n: 40, k: 64, wDtype: 'bf16' }), { rows: 9, w }, 'fma');
    await check(sg({ n: 40, k: 64, wDtype: 'f32' }), { rows: 9 }, 'fma');
    // f32 weights that happen to be f16 values take the tensor cores (word-aligned rows, and odd k).
    await check(sg({ n: 40, k: 64, wDtype: 'f32' }), { rows: 9, w: roundToDtype(rng.normalArray(40 * 64, 0.05), 'f16') }, 'subgroup-matrix');
    await check(sg({ n: 40, k: 67, wDtype: 'f32' }), { rows: 9, w: roundToDtype(rng.normalArray(40 * 67, 0.05), 'f16') }, 'subgroup-matrix');
  });
  it('encode refuses weights that were never checked', async () => {
    const gemm = createGemm(ctx, sg({ n: 8, k: 8, wDtype: 'bf16' }));
    const { createTensor } = await import('@qwen3-webgpu/tensor');
    const [x, w, y] = [createTensor(ctx, [1, 8], 'f32'), createTensor(ctx, [8, 8], 'bf16'), createTensor(ctx, [1, 8], 'f32')];
    const pass = ctx.device.createCommandEncoder().beginComputePass();
    expect(() => gemm.encode(pass, { x, w, y, rows: 1 })).toThrow(/prepare/);
    pass.end();
    for (const t of [x, w, y]) t.destroy();
    gemm.destroy();
  });
});

describe('k-split sums left to the caller (encodeDeferringSum)', () => {
  const emulated = { path: 'subgroup-matrix', emulateSubgroupMatrix: true } as const;
  // What the sums and their row exponents hold, read before any other GEMM of the context reuses the scratch.
  async function readSums(sums: SplitSums): Promise<{ part: Float32Array; exps?: Int32Array }> {
    const part = new Float32Array((await readBytes(sums.sums)).buffer);
    return sums.rowExp ? { part, exps: new Int32Array((await readBytes(sums.rowExp)).buffer) } : { part };
  }
  // The sums added on the host as SplitSums describes them: Σ_s in order, times 2^(rowExp[r] − shift), into y0.
  function addOnHost(y0: Float32Array, sums: SplitSums, { part, exps }: { part: Float32Array; exps?: Int32Array }): Float32Array {
    const out = Float32Array.from(y0);
    for (let r = 0; r < sums.rows; r++) {
      for (let c = 0; c < sums.n; c++) {
        let g = 0;
        for (let s = 0; s < sums.splits; s++) g = Math.fround(g + part[(s * sums.rows + r) * sums.n + c]!);
        if (exps) g = Math.fround(g * 2 ** (exps[r]! - sums.shift));
        out[r * sums.n + c] = Math.fround(out[r * sums.n + c]! + g);
      }
    }
    return out;
  }
  it("y untouched, and the sums added as SplitSums says give encode()'s y bit for bit: FMA, presplit and f16w splits; none without a split", async () => {
    for (const [label, options, rows, split] of [
      ['fma, split 3', { n: 70, k: 200, wDtype: 'bf16', fmaTile: { splitK: 3 } }, 37, 3],
      [
        'presplit, split 3',
        { n: 37, k: 136, wDtype: 'bf16', ...emulated, subgroupMatrixTile: { variant: 'presplit', sgM: 2, sgN: 1, tm: 1, tn: 1, bk: 16, splitK: 3 } },
        40,
        3,
      ],
      ['f16w, split 4', { n: 64, k: 96, wDtype: 'f16', ...emulated, subgroupMatrixTile: { variant: 'f16w', splitK: 4 } }, 21, 4],
      ['fma, no split', { n: 70, k: 200, wDtype: 'bf16', fmaTile: { splitK: 1 } }, 9, 1],
    ] as const) {
      const gemm = createGemm(ctx, { ...options, accumulate: true });
      const staged = await stageGemmCase(ctx, gemm, rng, { rows, n: options.n, k: options.k, wDtype: options.wDtype, accumulate: true });
      try {
        const { y } = staged.args;
        const y0 = Float32Array.from(await readFloat(y));
        let sums: SplitSums | undefined;
        await ctx.run((pass) => {
          sums = gemm.encodeDeferringSum(pass, staged.args);
        }, 'gemm deferred');
        const deferredY = Float32Array.from(await readFloat(y));
        const held = sums ? await readSums(sums) : undefined;
        writeTensor(y, y0);
        await ctx.run((pass) => void gemm.encode(pass, staged.args), 'gemm');
        const want = await readFloat(y);
        expect((await staged.check([])).relL2, `${label}: encode() against float64`).toBeLessThan(1e-5);
        if (split > 1) {
          expect(sums, label).toMatchObject({ splits: split, rows, n: options.n });
          expect(deferredY, `${label}: y untouched`).toEqual(y0);
          expect(addOnHost(y0, sums!, held!), `${label}: y0 + the sums`).toEqual(want);
        } else {
          expect(sums, label).toBeUndefined();
          expect(deferredY, `${label}: y written as encode() writes it`).toEqual(want);
        }
      } finally {
        staged.destroy();
        gemm.destroy();
      }
    }
  });
  it('refuses handles whose sums it cannot leave', () => {
    const x = createTensor(ctx, [4, 8], 'f32');
    const w = createTensor(ctx, [8, 8], 'bf16');
    const y = createTensor(ctx, [4, 8], 'f32');
    const pass = ctx.device.createCommandEncoder().beginComputePass();
    const plain = createGemm(ctx, { n: 8, k: 8, wDtype: 'bf16', path: 'fma' });
    expect(() => plain.encodeDeferringSum(pass, { x, w, y, rows: 4 })).toThrow(/encodeDeferringSum is for handles that accumulate/);
    const acc = createGemm(ctx, { n: 8, k: 8, wDtype: 'bf16', path: 'fma', accumulate: true });
    const parts = [
      { rowStart: 0, rowCount: 4, tensor: w.rows(0, 4) },
      { rowStart: 4, rowCount: 4, tensor: w.rows(4, 4) },
    ];
    expect(() => acc.encodeDeferringSum(pass, { x, w: parts, y, rows: 4 })).toThrow(/W in one part, got 2/);
    pass.end();
    for (const h of [plain, acc]) h.destroy();
    for (const t of [x, w, y]) t.destroy();
  });
});

describe('path selection and the weight-range decision', () => {
  it("'auto' takes FMA on an adapter without subgroup matrices; 'subgroup-matrix' says why not", () => {
    if (ctx.features.subgroupMatrix) throw new Error('this test expects an adapter without subgroup matrices (lavapipe)');
    expect(createGemm(ctx, { n: 8, k: 8, wDtype: 'bf16' }).path).toBe('fma');
    expect(() => createGemm(ctx, { n: 8, k: 8, wDtype: 'bf16', path: 'subgroup-matrix' })).toThrow(/chromium-experimental-subgroup-matrix/);
  });
  it('decide(): scale, span, mantissa, non-finite, zero', () => {
    // max 2^-3, min 2^-20: s = 18, smallest becomes 2^-2.
    expect(decide(124, 107, false, false)).toMatchObject({ exact: true, scaleLog2: 18 });
    // A span of exactly 30 binades fits (2^15 … 2^-14), 31 does not.
    expect(decide(127, 98, false, false)).toMatchObject({ exact: true, scaleLog2: 15 });
    expect(decide(127, 97, false, false).exact).toBe(false);
    expect(decide(127, 120, true, false).exact).toBe(false);
    expect(decide(127, 120, false, true).exact).toBe(false);
    expect(decide(127, 0, false, false).exact).toBe(false);
    expect(decide(0, 255, false, false)).toMatchObject({ exact: true, scaleLog2: 0 });
  });
  it('checkWeightRanges: one pass for many tensors gives what checkWeightRange gives for each alone', async () => {
    const sets: [string, 'bf16' | 'f16' | 'f32', Float32Array][] = [
      ['in range', 'bf16', Float32Array.from({ length: 300 }, () => rng.normal() * 0.02)],
      ['tiny', 'f16', Float32Array.from({ length: 77 }, () => (rng.normal() + 3) * 1e-7)],
      ['too wide', 'bf16', Float32Array.from({ length: 64 }, (_, i) => (i % 2 ? 0.05 : 1e-12))],
      ['f32 mantissas', 'f32', Float32Array.from({ length: 33 }, () => rng.normal())],
    ];
    const upload = () => sets.map(([, dtype, v]) => uploadTensor(ctx, [v.length], dtype, roundToDtype(v, dtype)));
    const [batch, alone] = [upload(), upload()];
    // The first tensor twice: checked once, both answers the same.
    const many = await checkWeightRanges(ctx, [...batch, batch[0]!]);
    for (let i = 0; i < sets.length; i++) expect(many[i], sets[i]![0]).toEqual(await checkWeightRange(ctx, alone[i]!));
    expect(many[sets.length]).toEqual(many[0]);
    expect(many.map((r) => r.exact)).toEqual([true, true, false, false, true]);
    for (const t of [...batch, ...alone]) t.destroy();
  });
  it('bad arguments say what was expected', () => {
    expect(() => createGemm(ctx, { n: 0, k: 8, wDtype: 'bf16' })).toThrow(/n must be a positive integer/);
    expect(() => createGemm(ctx, { n: 8, k: 8, wDtype: 'u8' as never })).toThrow(/wDtype/);
    expect(() => createGemm(ctx, { n: 8, k: 8, wDtype: 'bf16', fmaTile: { bm: 64, tm: 2 } })).toThrow(/fmaTile/);
    expect(() => createGemm(ctx, { n: 8, k: 8, wDtype: 'bf16', fmaTile: { splitK: -1 } })).toThrow(/splitK/);
    const emulated = { path: 'subgroup-matrix', emulateSubgroupMatrix: true } as const;
    expect(() => createGemm(ctx, { n: 8, k: 8, wDtype: 'bf16', ...emulated, subgroupMatrixTile: { bk: 48 } })).toThrow(/bk must be 16, 32 or 64/);
    expect(() => createGemm(ctx, { n: 8, k: 8, wDtype: 'bf16', ...emulated, subgroupMatrixTile: { variant: 'x' as never } })).toThrow(/variant/);
    expect(() => createGemm(ctx, { n: 8, k: 8, wDtype: 'bf16', ...emulated, subgroupMatrixTile: { variant: 'inline', splitK: 2 } })).toThrow(/splitK/);
    expect(() => createGemm(ctx, { n: 8, k: 8, wDtype: 'bf16', ...emulated, subgroupMatrixTile: { variant: 'presplit', splitK: 0 } })).toThrow(/splitK/);
    expect(() => createGemm(ctx, { n: 8, k: 8, wDtype: 'bf16', ...emulated, subgroupMatrixTile: { variant: 'f16w', splitK: 65 } })).toThrow(/splitK/);
    expect(() => createGemm(ctx, { n: 8, k: 8, wDtype: 'bf16', ...emulated, subgroupMatrixTile: { variant: 'f16w', splitK: 1.5 } })).toThrow(/splitK/);
  });
});
