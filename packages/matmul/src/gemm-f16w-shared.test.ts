// Variant 'auto' and the f16w scratch that every tensor-core handle of a context shares (gemm.ts, acquireScratch):
// which variant each shape takes, handles of different sizes interleaved in one pass and in one DispatchList (each
// call's converted W and split x are read before the next call overwrites them), growth, and the scratch freed with
// the last handle, counted from the device's own buffer creations. The tensor-core kernels run with the emulated
// builtins (lavapipe has no subgroup matrices). The default f16w tile (2 × 2 subgroups of 2 × 2 accumulators) takes
// minutes per emulated pipeline to compile, so only the tests of the default choice run it; the scratch tests ask for
// the small one (1 × 2 subgroups, one accumulator each), still under variant 'auto'.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng, DispatchList, type GpuContext } from '@qwen3-webgpu/tensor';
import { openTestContext, trackBuffers, type BufferTracker } from '@qwen3-webgpu/tensor/testing';
import {
  createGemm,
  DEFAULT_F16W_MAX_BYTES,
  f16wScratchBytes,
  resolveSubgroupMatrixTile,
  subgroupMatrixSplitK,
  type Gemm,
  type GemmOptions,
  type GemmPath,
} from './index.ts';
import { describeResult, inOnePass, runGemmCase, runInterleavedCases, withinBounds, type GemmCase, type GemmCaseResult } from './gemm.test-helpers.ts';

const rng = createRng();
console.log(`gemm f16w shared scratch tests: seed ${rng.seed}`);

let ctx: GpuContext;
/** The GPU buffers created and not yet destroyed, with their labels. */
let buffers: BufferTracker;
beforeAll(async () => {
  ctx = await openTestContext();
  buffers = trackBuffers(ctx.device);
});
afterAll(() => ctx?.destroy());

/** The GEMM scratch buffers alive now (gemm.ts labels them 'gemm …'), by label, with their sizes. */
function liveScratch(): { label: string; size: number }[] {
  return [...buffers.live].filter(([, label]) => label.startsWith('gemm ')).map(([b, label]) => ({ label, size: b.size }));
}

/** Tensor cores with emulated builtins, variant left to 'auto'. */
const auto = (o: Omit<GemmOptions, 'path'>): GemmOptions => ({ ...o, path: 'subgroup-matrix', emulateSubgroupMatrix: true });
/** The same with the small f16w tile (fast to compile emulated). */
const small = (o: Omit<GemmOptions, 'path'>): GemmOptions => auto({ ...o, subgroupMatrixTile: { sgM: 1, sgN: 2, tm: 1, tn: 1, ...o.subgroupMatrixTile } });

type Case = Omit<GemmCase, 'n' | 'k' | 'wDtype'>;
const caseOf = (o: GemmOptions, c: Case): GemmCase => ({
  ...c,
  n: o.n,
  k: o.k,
  wDtype: o.wDtype,
  ...(o.swiglu ? { swiglu: true } : {}),
  ...(o.accumulate ? { accumulate: true } : {}),
});

function expectOk(label: string, r: { paths: GemmPath[] } & Parameters<typeof withinBounds>[0]) {
  const text = `${label}: ${describeResult(r)}`;
  expect(withinBounds(r), text).toBe(true);
  expect(r.paths.length > 0 && r.paths.every((p) => p === 'subgroup-matrix'), text).toBe(true);
}

describe("variant 'auto'", () => {
  it('Qwen3-0.6B projections take f16w, its lm_head (151936 × 1024) presplit; the cap, the binding limit, explicit variants', () => {
    const binding = 128 * 2 ** 20;
    const pick = (n: number, k: number, swiglu = false, cap = DEFAULT_F16W_MAX_BYTES, requested = {}) =>
      resolveSubgroupMatrixTile(requested, { n, k, swiglu }, cap, binding).variant;
    // q | k | v (one GEMM over three parts), o, gate + up (swiglu), down.
    expect([pick(4096, 1024), pick(1024, 2048), pick(3072, 1024, true), pick(1024, 3072)]).toEqual(['f16w', 'f16w', 'f16w', 'f16w']);
    expect(pick(151936, 1024)).toBe('presplit');
    // Exactly at the cap: f16w; a byte below: presplit. [130, 100] pads to [192, 128] for the default 64 × 64 tile.
    const bytes = f16wScratchBytes(130, 100, 64, true);
    expect(bytes).toBe(192 * 128 * 2 * 2);
    expect(pick(130, 100, true, bytes)).toBe('f16w');
    expect(pick(130, 100, true, bytes - 1)).toBe('presplit');
    // Over one binding per half: presplit, whatever the cap.
    expect(pick(65536, 1024, false, Infinity)).toBe('f16w');
    expect(pick(65537 + 31, 1024, false, Infinity)).toBe('presplit');
    // A requested tile edge enters the size: 128 columns per tile pad 130 to 256.
    expect(pick(130, 100, true, bytes, { sgN: 4 })).toBe('presplit');
    // Explicit variants are kept.
    expect(pick(8, 8, false, DEFAULT_F16W_MAX_BYTES, { variant: 'presplit' })).toBe('presplit');
    expect(pick(151936, 1024, false, DEFAULT_F16W_MAX_BYTES, { variant: 'f16w' })).toBe('f16w');
    expect(pick(8, 8, false, DEFAULT_F16W_MAX_BYTES, { variant: 'inline' })).toBe('inline');
    expect(() => createGemm(ctx, auto({ n: 8, k: 8, wDtype: 'bf16', f16wMaxBytes: Number.NaN }))).toThrow(/f16wMaxBytes/);
  });

  it('the default f16w tile: 64 × 64 (2 × 2 subgroups of 2 × 2 accumulators), k split by shape; Qwen3-0.6B at 512 rows', () => {
    const tile = resolveSubgroupMatrixTile({}, { n: 1024, k: 3072, swiglu: false }, DEFAULT_F16W_MAX_BYTES, 128 * 2 ** 20);
    expect(tile).toMatchObject({ variant: 'f16w', sgM: 2, sgN: 2, tm: 2, tn: 2, splitK: 0 });
    expect(resolveSubgroupMatrixTile({}, { n: 3072, k: 1024, swiglu: true }, DEFAULT_F16W_MAX_BYTES, 128 * 2 ** 20)).toEqual(tile);
    // [rows, n, k] → split: q|k|v as one W (8 × 64 = 512 tiles), gate/up (384 tiles): none; o_proj and down (128
    // tiles): 4 ways, 512 workgroups; the k and v parts of a q|k|v in parts (128 tiles each) too.
    const split = (rows: number, n: number, k: number, t = tile) => subgroupMatrixSplitK(t, rows, n, k);
    expect([split(512, 4096, 1024), split(512, 3072, 1024), split(512, 1024, 2048), split(512, 1024, 3072), split(512, 2048, 1024)]).toEqual([1, 1, 4, 4, 1]);
    // Fewer rows: more ways, at most 8; short k: each slice keeps ≥ 8 steps of 16 (k 200: 13 steps, no split).
    expect([split(64, 1024, 3072), split(256, 1024, 3072), split(70, 150, 200), split(70, 150, 300)]).toEqual([8, 8, 1, 2]);
    // An explicit split is kept; so is one for the narrow tile, whose own tile count decides its default.
    expect(split(512, 1024, 3072, { ...tile, splitK: 3 })).toBe(3);
    expect(split(512, 1024, 3072, { ...tile, sgM: 1, tm: 1, tn: 1 })).toBe(1);
    expect(split(64, 1024, 3072, { ...tile, sgM: 1, tm: 1, tn: 1 })).toBe(4);
  });

  it('a handle with default options runs f16w: the 64 × 64 tile split by shape, swiglu; small tiles: odd-k f16, accumulate in 3 parts; presplit over the cap', async () => {
    const cases: [GemmOptions, Case, string, number][] = [
      // 2 × 3 tiles, 19 steps of k: split 2 (and a ragged last slice).
      [auto({ n: 150, k: 300, wDtype: 'bf16' }), { rows: 70 }, 'f16w', 2],
      [auto({ n: 70, k: 130, wDtype: 'bf16', swiglu: true }), { rows: 37 }, 'f16w', 1],
      [small({ n: 130, k: 101, wDtype: 'f16' }), { rows: 33 }, 'f16w', 1],
      [small({ n: 129, k: 96, wDtype: 'bf16', accumulate: true }), { rows: 40, parts: 3 }, 'f16w', 1],
      [auto({ n: 130, k: 100, wDtype: 'bf16', f16wMaxBytes: 1024, subgroupMatrixTile: { sgM: 1 } }), { rows: 70 }, 'presplit', 1],
    ];
    for (const [options, c, variant, split] of cases) {
      const gemm = createGemm(ctx, options);
      try {
        expect(gemm.subgroupMatrixTile?.variant).toBe(variant);
        if (!options.subgroupMatrixTile) expect(gemm.subgroupMatrixTile).toMatchObject({ sgM: 2, sgN: 2, tm: 2, tn: 2, splitK: 0 });
        expect(subgroupMatrixSplitK(gemm.subgroupMatrixTile!, c.rows, options.n / (c.parts ?? 1), options.k)).toBe(split);
        expectOk(`${variant} ${JSON.stringify(options)}`, await runGemmCase(ctx, gemm, rng, caseOf(options, c)));
      } finally {
        gemm.destroy();
      }
    }
  });
});

describe('one tensor-core scratch per context', () => {
  // Different sizes, in an order where each call grows or reuses what the one before it left: small, large swiglu
  // (W and W2 grow), in parts with accumulate (W per part), f16 with more rows than any before (x's split grows).
  const handles: [GemmOptions, Case][] = [
    [small({ n: 40, k: 64, wDtype: 'bf16' }), { rows: 9 }],
    [small({ n: 130, k: 100, wDtype: 'bf16', swiglu: true }), { rows: 70 }],
    [small({ n: 129, k: 96, wDtype: 'bf16', accumulate: true }), { rows: 40, parts: 3 }],
    [small({ n: 70, k: 130, wDtype: 'f16' }), { rows: 97 }],
  ];

  it('handles of different sizes interleaved in one pass and in one DispatchList all compute their own product', async () => {
    const gemms = handles.map(([o]) => createGemm(ctx, o));
    try {
      expect(gemms.map((g) => g.subgroupMatrixTile?.variant)).toEqual(['f16w', 'f16w', 'f16w', 'f16w']);
      const cases = handles.map(([o, c]) => caseOf(o, c));
      const expectAll = (results: GemmCaseResult[]) => results.forEach((r, i) => expectOk(`handle ${i}`, r));
      // Handle 2 accumulates: called once. 0, 1 and 3 are called again after others overwrote the scratch.
      expectAll(await runInterleavedCases(ctx, rng, gemms, cases, [0, 1, 2, 0, 3, 1], inOnePass(ctx)));
      const list = new DispatchList(ctx, 'interleaved gemms');
      try {
        const inList = async (encodeAll: (target: DispatchList) => GemmPath[][]) => {
          const paths = encodeAll(list);
          await ctx.run((pass) => list.encode(pass), 'interleaved gemms (list)');
          return paths;
        };
        expectAll(await runInterleavedCases(ctx, rng, gemms, cases, [3, 0, 2, 1, 0, 3], inList));
      } finally {
        list.destroy();
      }
      // Four handles, one W scratch at a time: the first call's and the one handle 1 grew it to (kept, superseded).
      const wScratch = liveScratch().filter((b) => b.label === 'gemm W as f16');
      expect(wScratch.length).toBe(2);
      expect(Math.max(...wScratch.map((b) => b.size))).toBeGreaterThanOrEqual(f16wScratchBytes(130, 100, 32, false));
    } finally {
      for (const g of gemms) g.destroy();
    }
    expect(liveScratch()).toEqual([]);
  });

  it('handles allocate nothing until their first tensor-core encode; a larger handle grows the scratch, the next one of that size reuses it, the last destroy frees it', async () => {
    expect(liveScratch(), 'no scratch left from an earlier test').toEqual([]);
    const [small, large] = [handles[0]!, handles[1]!];
    const a = createGemm(ctx, small[0]);
    const b = createGemm(ctx, large[0]);
    let c: Gemm | undefined;
    try {
      // A model's handles exist from load on; decode (one row: GEMV) never encodes them, so they must cost nothing.
      expect(liveScratch()).toEqual([]);
      expectOk('small', await runGemmCase(ctx, a, rng, caseOf(small[0], small[1])));
      const afterSmall = liveScratch();
      expect(afterSmall.map((s) => s.label).sort()).toEqual(['gemm W as f16', 'gemm row exponents', 'gemm split x', 'gemm split-k sums']);
      expectOk('large', await runGemmCase(ctx, b, rng, caseOf(large[0], large[1])));
      const afterLarge = liveScratch();
      // W grew (the superseded buffer stays: a pass recorded before may bind it), W2 appeared.
      expect(afterLarge.filter((s) => s.label === 'gemm W as f16').length).toBe(2);
      expect(afterLarge.filter((s) => s.label === 'gemm W2 as f16').length).toBe(1);
      const createdBefore = buffers.created('gemm ');
      c = createGemm(ctx, large[0]);
      expectOk('another large handle', await runGemmCase(ctx, c, rng, caseOf(large[0], large[1])));
      expectOk('small again, after the growth', await runGemmCase(ctx, a, rng, caseOf(small[0], small[1])));
      expect(buffers.created('gemm '), 'a handle of a size already seen creates no scratch').toBe(createdBefore);
      // Two handles gone (one destroyed twice: counted once), one left: the scratch stays and still serves it.
      a.destroy();
      b.destroy();
      b.destroy();
      expect(liveScratch().length).toBe(afterLarge.length);
      expectOk('the last handle', await runGemmCase(ctx, c, rng, caseOf(large[0], large[1])));
      const pass = ctx.device.createCommandEncoder().beginComputePass();
      expect(() => a.encode(pass, {} as never)).toThrow(/after destroy/);
      pass.end();
    } finally {
      a.destroy();
      b.destroy();
      c?.destroy();
    }
    expect(liveScratch(), 'scratch left after the last handle was destroyed').toEqual([]);
    // The FMA path without a k split takes only the placeholder its kernel binds for split-k sums (1024 words).
    const fma = createGemm(ctx, { n: 40, k: 64, wDtype: 'bf16', path: 'fma' });
    const r = await runGemmCase(ctx, fma, rng, caseOf({ n: 40, k: 64, wDtype: 'bf16' }, { rows: 9 }));
    expect(liveScratch()).toEqual([{ label: 'gemm split-k sums', size: 4096 }]);
    fma.destroy();
    expect(withinBounds(r) && r.paths.join() === 'fma', `fma: ${describeResult(r)}`).toBe(true);
    expect(liveScratch()).toEqual([]);
  });
});
