import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createGpuContext,
  createRng,
  createTensor,
  fillTensor,
  readFloat,
  readTensor,
  roundToDtype,
  uploadTensor,
  writeTensor,
  xSplitKTiles,
  type GpuContext,
} from '@qwen3-webgpu/tensor';
import { openTestContext, xSplitProblem } from '@qwen3-webgpu/tensor/testing';
import { createRmsNormF32, type ReductionPath, type RmsNormDtype } from './index.ts';
import { compareWithReference, describeResult, runCase, runCaseWith, runOnGpu, withinBounds } from './rmsnorm.test-helpers.ts';

const DTYPES: readonly RmsNormDtype[] = ['f32', 'bf16', 'f16'];
// 64 … 2048 take the vec4 kernel (rows 16-byte aligned), 1, 3, 127, 4099 the scalar one.
const NS = [1, 3, 64, 127, 128, 1000, 1024, 2048, 4099];
const ROWS = [1, 7, 512, 70_000];
const EPS = [1e-6, 1e-5];

const rng = createRng();
console.log(`rmsnorm-f32 tests: seed ${rng.seed}`);

let ctx: GpuContext;
let paths: ReductionPath[];
beforeAll(async () => {
  ctx = await openTestContext();
  paths = ctx.features.subgroups ? ['subgroup', 'workgroup'] : ['workgroup'];
  console.log(`rmsnorm-f32 reduction paths on this adapter: ${paths.join(', ')} (default ${createRmsNormF32(ctx, { n: 8 }).path})`);
});
afterAll(() => ctx?.destroy());

/** Random rows with magnitudes spread over 2^-4 … 2^4 and weights in ±[0.5, 1.5): never zeros. */
function randomCase(rows: number, n: number) {
  const x = new Float32Array(rows * n);
  for (let r = 0; r < rows; r++) {
    const scale = 2 ** rng.uniform(-4, 4);
    for (let i = r * n; i < (r + 1) * n; i++) x[i] = rng.uniform(-1, 1) * scale;
  }
  const w = Float32Array.from({ length: n }, () => (rng.next() < 0.5 ? -1 : 1) * rng.uniform(0.5, 1.5));
  return { x, w };
}

describe('RMSNormF32 vs the float64 reference: every x dtype × w dtype × n × rows × eps', () => {
  for (const n of NS) {
    for (const rows of ROWS) {
      let data: ReturnType<typeof randomCase> | undefined;
      for (const xDtype of DTYPES) {
        it(`x ${xDtype} [${rows}, ${n}], every w dtype and eps`, async () => {
          data ??= randomCase(rows, n);
          const xs = roundToDtype(data.x, xDtype);
          const x = uploadTensor(ctx, [rows, n], xDtype, xs);
          const y = createTensor(ctx, [rows, n], 'f32');
          try {
            for (const wDtype of DTYPES) {
              const ws = roundToDtype(data.w, wDtype);
              const w = uploadTensor(ctx, [n], wDtype, ws);
              for (const eps of EPS) {
                const norm = createRmsNormF32(ctx, { n, eps });
                const out = await runOnGpu(ctx, norm, { x, w, y, rows });
                const r = compareWithReference(out, xs, ws, rows, n, eps);
                expect(withinBounds(r), `x ${xDtype}, w ${wDtype}, [${rows}, ${n}], eps ${eps}: ${describeResult(r)}`).toBe(true);
              }
              w.destroy();
            }
          } finally {
            x.destroy();
            y.destroy();
            if (xDtype === DTYPES[DTYPES.length - 1]) data = undefined;
          }
        });
      }
    }
  }
});

describe('extreme inputs', () => {
  const top: Record<RmsNormDtype, number> = { f32: 3.0e38, bf16: 3.0e38, f16: 6.0e4 };
  const tiny: Record<RmsNormDtype, number> = { f32: 1e-30, bf16: 1e-30, f16: 1e-4 };
  for (const xDtype of DTYPES) {
    for (const n of [64, 127, 1024, 4099, 4104]) {
      it(`x ${xDtype}, n ${n}: weights up to 1e4, a massive-activation row, rows near the dtype maximum and tiny rows`, async () => {
        const rows = 9;
        const { x } = randomCase(rows, n);
        for (let i = 0; i < n; i++) {
          x[1 * n + i] = rng.uniform(-1, 1) * 1e4; // massive activation
          x[2 * n + i] = (rng.next() < 0.5 ? -1 : 1) * top[xDtype] * rng.uniform(0.5, 1); // near the maximum
          x[3 * n + i] = rng.uniform(-1, 1) * tiny[xDtype];
        }
        x[4 * n + Math.floor(n / 2)] = 3e4; // one massive channel in an ordinary row
        const w = Float32Array.from({ length: n }, () => (rng.next() < 0.5 ? -1 : 1) * 10 ** rng.uniform(-2, 4));
        for (const wDtype of DTYPES) {
          for (const path of paths) {
            const { result } = await runCase(ctx, { x, w, rows, n, eps: 1e-6, xDtype, wDtype, path });
            const label = `x ${xDtype}, w ${wDtype}, n ${n}, ${path}: ${describeResult(result)}`;
            expect(withinBounds(result), label).toBe(true);
            expect(result.worstRowRelL2, label).toBeLessThanOrEqual(1e-5);
          }
        }
      });
    }
  }
});

describe('reduction paths', () => {
  it('the subgroup path (when the adapter has subgroups) and the workgroup path both match the reference and each other', async () => {
    for (const n of [...NS, 4104]) {
      for (const rows of [7, 512]) {
        const { x, w } = randomCase(rows, n);
        for (const xDtype of DTYPES) {
          for (const wDtype of DTYPES) {
            const outs = [];
            for (const path of paths) {
              const { result, y } = await runCase(ctx, { x, w, rows, n, eps: 1e-6, xDtype, wDtype, path });
              expect(withinBounds(result), `${path} x ${xDtype} w ${wDtype} [${rows}, ${n}]: ${describeResult(result)}`).toBe(true);
              outs.push(y);
            }
            if (outs.length === 2) {
              const agree = compareWithReference(outs[0]!, roundToDtype(x, xDtype), roundToDtype(w, wDtype), rows, n, 1e-6);
              expect(agree.nonFinite).toBe(0);
              let maxDiff = 0;
              for (let i = 0; i < outs[0]!.length; i++) maxDiff = Math.max(maxDiff, Math.abs(outs[0]![i]! - outs[1]![i]!));
              expect(maxDiff, `subgroup vs workgroup [${rows}, ${n}] ${xDtype}/${wDtype}`).toBeLessThanOrEqual(1e-5 * agree.maxAbsRef + 1e-6);
            }
          }
        }
      }
    }
  });
  it('every tuning setting gives the right answer (rows narrower than, equal to and wider than a subgroup)', async () => {
    for (const n of [1000, 1024, 4099, 4104]) {
      const { x, w } = randomCase(9, n);
      x[4 * n + 3] = 3e38; // one row takes the rescaling path
      const settings = [
        { threadsPerRow: 1 },
        { threadsPerRow: 2 },
        { threadsPerRow: 8 },
        { threadsPerRow: 32 },
        { threadsPerRow: 256 },
        { unroll: 2 },
        { unroll: 4, threadsPerRow: 8 },
        { unroll: 1, threadsPerRow: 16 },
        { workgroupSize: 64 },
        { workgroupSize: 1024, threadsPerRow: 128 },
      ];
      for (const setting of settings) {
        for (const path of paths) {
          const { result } = await runCaseWith(ctx, { x, w, rows: 9, n, eps: 1e-6, xDtype: 'bf16', wDtype: 'f32', path }, setting);
          const label = `n ${n}, ${path}, ${JSON.stringify(setting)}: ${describeResult(result)}`;
          expect(withinBounds(result), label).toBe(true);
          expect(result.worstRowRelL2, label).toBeLessThanOrEqual(1e-5);
        }
      }
    }
  });
  it('reports a clear error when the subgroup path is asked for on a device without subgroups', async () => {
    const plain = await createGpuContext({ disableFeatures: ['subgroups'] });
    try {
      expect(createRmsNormF32(plain, { n: 64 }).path).toBe('workgroup');
      expect(() => createRmsNormF32(plain, { n: 64, path: 'subgroup' })).toThrow(/needs the "subgroups" feature/);
    } finally {
      plain.destroy();
    }
  });
});

describe('slices of larger buffers', () => {
  for (const xDtype of DTYPES) {
    it(`x ${xDtype}: element offsets and row strides on input and output; everything else untouched`, async () => {
      const rows = 37;
      for (const [n, xOffset, xStride, yOffset, yStride, layout] of [
        [130, 0, 130, 0, 130, 'scalar'],
        [130, 1, 133, 3, 135, 'scalar'],
        [130, 6, 132, 4, 130, 'scalar'],
        [130, 5, 131, 1, 131, 'scalar'],
        [136, 8, 144, 4, 140, 'vec4'],
        [136, 16, 136, 0, 136, 'vec4'],
        [136, 8, 144, 2, 138, 'scalar'],
      ] as const) {
        const { x: dense, w } = randomCase(rows, n);
        const xHost = Float32Array.from({ length: xOffset + rows * xStride + 7 }, () => rng.uniform(-100, 100));
        for (let r = 0; r < rows; r++) xHost.set(dense.subarray(r * n, (r + 1) * n), xOffset + r * xStride);
        const xs = roundToDtype(xHost, xDtype);
        const x = uploadTensor(ctx, [xs.length], xDtype, xs);
        const wt = uploadTensor(ctx, [n], 'bf16', w);
        const y = createTensor(ctx, [yOffset + rows * yStride + 9], 'f32');
        fillTensor(y, NaN);
        const norm = createRmsNormF32(ctx, { n, eps: 1e-5 });
        let used: string[] = [];
        await ctx.run((pass) => {
          used = norm.encode(pass, { x, w: wt, y, rows, xOffset, xStride, yOffset, yStride }).layouts;
        });
        expect(used).toEqual([layout]);
        const out = await readFloat(y);
        const packed = new Float32Array(rows * n);
        const xPacked = new Float32Array(rows * n);
        let untouched = true;
        for (let i = 0; i < out.length; i++) {
          const rel = i - yOffset;
          const inside = rel >= 0 && Math.floor(rel / yStride) < rows && rel % yStride < n;
          if (inside) packed[Math.floor(rel / yStride) * n + (rel % yStride)] = out[i]!;
          else if (!Number.isNaN(out[i]!)) untouched = false;
        }
        for (let r = 0; r < rows; r++) xPacked.set(xs.subarray(xOffset + r * xStride, xOffset + r * xStride + n), r * n);
        const result = compareWithReference(packed, xPacked, roundToDtype(w, 'bf16'), rows, n, 1e-5);
        const label = `n ${n}, offsets x ${xOffset}/${xStride}, y ${yOffset}/${yStride}: ${describeResult(result)}`;
        expect(withinBounds(result), label).toBe(true);
        expect(untouched, `${label}: wrote outside its rows`).toBe(true);
        x.destroy();
        wt.destroy();
        y.destroy();
      }
    });
  }
});

describe('large grids', () => {
  it('spreads more workgroups than one dimension allows over a 2-D grid', async () => {
    const small = await createGpuContext({ maxWorkgroupsPerDimension: 64 });
    try {
      for (const path of small.features.subgroups ? (['subgroup', 'workgroup'] as const) : (['workgroup'] as const)) {
        const { x, w } = randomCase(4000, 1024);
        const { result } = await runCase(small, { x, w, rows: 4000, n: 1024, eps: 1e-6, xDtype: 'bf16', wDtype: 'bf16', path });
        expect(withinBounds(result), describeResult(result)).toBe(true);
      }
    } finally {
      small.destroy();
    }
  });
});

describe('y also split for a tensor-core GEMM (RmsNormArgs.split)', () => {
  // n not a multiple of 64 (padding columns), rows not a multiple of 16, a row that takes the overflow rescue, rows
  // scaled far apart; one row a workgroup and several, one load group a row (SINGLE) and several, both reductions.
  it('the same y, and its split: exponents, hi + lo, zero padding, every row written', async () => {
    for (const [rows, n, xDtype, extra] of [
      [37, 100, 'bf16', {}],
      [70, 1024, 'f32', {}],
      [19, 2056, 'f16', { threadsPerRow: 16, unroll: 1 }],
      [33, 64, 'bf16', { threadsPerRow: 4 }],
    ] as const) {
      const { x: raw, w: wRaw } = randomCase(rows, n);
      if (xDtype === 'f32') for (let i = 0; i < n; i++) raw[3 * n + i] = rng.uniform(-1, 1) * 1e30; // Σx² overflows
      for (let i = 0; i < n; i++) raw[5 * n + i] = raw[5 * n + i]! * 1e-20;
      const xs = roundToDtype(raw, xDtype);
      const x = uploadTensor(ctx, [rows, n], xDtype, xs);
      const w = uploadTensor(ctx, [n], 'bf16', roundToDtype(wRaw, 'bf16'));
      const y = createTensor(ctx, [rows, n], 'f32');
      const split = { xs: createTensor(ctx, [Math.ceil(rows / 16) * 16 * 16 * xSplitKTiles(n)], 'u32'), rowExp: createTensor(ctx, [rows], 'i32') };
      try {
        for (const path of paths) {
          const norm = createRmsNormF32(ctx, { n, path, ...extra });
          fillTensor(split.xs, 0x7fff7fff);
          fillTensor(split.rowExp, 999);
          const plain = await runOnGpu(ctx, norm, { x, w, y, rows });
          const got = await runOnGpu(ctx, norm, { x, w, y, rows, split });
          const label = `[${rows}, ${n}] ${xDtype}, ${path} ${JSON.stringify(extra)}`;
          expect(got, `${label}: y with the split equals y without`).toEqual(plain);
          const r = compareWithReference(got, xs, roundToDtype(wRaw, 'bf16'), rows, n, 1e-6);
          expect(withinBounds(r), `${label}: ${describeResult(r)}`).toBe(true);
          const rowExp = new Int32Array((await readTensor(split.rowExp)).buffer);
          expect(xSplitProblem(got, rows, n, rowExp, (await readTensor(split.xs)) as Uint32Array), label).toBeUndefined();
        }
      } finally {
        for (const t of [x, w, y, split.xs, split.rowExp]) t.destroy();
      }
    }
  });
  it('refuses rows it cannot split and splits too small', () => {
    const norm = createRmsNormF32(ctx, { n: 6 });
    const x = createTensor(ctx, [4, 6], 'f32');
    const w = createTensor(ctx, [6], 'f32');
    const y = createTensor(ctx, [4, 6], 'f32');
    const split = { xs: createTensor(ctx, [16 * 16 * 4], 'u32'), rowExp: createTensor(ctx, [4], 'i32') };
    const pass = ctx.device.createCommandEncoder().beginComputePass();
    expect(() => norm.encode(pass, { x, w, y, rows: 4, split })).toThrow(/whole 4-element units/);
    const norm8 = createRmsNormF32(ctx, { n: 8 });
    const x8 = createTensor(ctx, [4, 8], 'f32');
    expect(() => norm8.encode(pass, { x: x8, w: x8, y: x8, rows: 4, split: { ...split, xs: split.xs.rows(0, 100) } })).toThrow(
      /split.xs must be u32 with at least 1024 words/,
    );
    pass.end();
    for (const t of [x, w, y, x8, split.xs, split.rowExp]) t.destroy();
  });
});

describe("x plus a k-split GEMM's sums first (RmsNormArgs.addSums)", () => {
  // x + 2^(e_r − shift) · Σ_s sums[s] in f32, in the kernel's order (what matmul's split-k sum pass and residual add do).
  function addedX(x: Float32Array, sums: Float32Array, exps: Int32Array | undefined, shift: number, splits: number, rows: number, n: number) {
    const out = new Float32Array(rows * n);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < n; c++) {
        let g = 0;
        for (let s = 0; s < splits; s++) g = Math.fround(g + sums[(s * rows + r) * n + c]!);
        if (exps) g = Math.fround(g * 2 ** (exps[r]! - shift));
        out[r * n + c] = Math.fround(x[r * n + c]! + g);
      }
    }
    return out;
  }
  // One load group a row (SINGLE, Qwen3-0.6B's hidden size) and several (n 4104 > 4 · 256 units; 2056 at 16 threads),
  // rows not a multiple of a workgroup's (grid-tail rows must not add twice), scaled and unscaled sums, with the split
  // and without, a row whose Σx² overflows after the add (the rescue re-reads x: it must see x + sums).
  it('writes x + sums back bit for bit and normalizes it: y against float64, the split of that y', async () => {
    for (const [rows, n, splits, scaled, withSplit, extra] of [
      [37, 1024, 4, true, true, {}],
      [19, 4104, 3, false, false, {}],
      [33, 64, 2, true, false, { threadsPerRow: 4 }],
      [5, 2056, 1, false, true, { threadsPerRow: 16, unroll: 1 }],
    ] as const) {
      const { x: xs, w: wRaw } = randomCase(rows, n);
      const sumsData = Float32Array.from({ length: splits * rows * n }, () => rng.uniform(-1, 1) * 2 ** rng.uniform(-3, 3));
      const shift = scaled ? 5 : 0;
      const exps = scaled ? Int32Array.from({ length: rows }, () => Math.floor(rng.uniform(-6, 14))) : undefined;
      // Row 3's Σx² overflows only once its sums are added (x there stays small): the rescue must re-read x + sums.
      if (rows > 3) for (let c = 0; c < n; c++) sumsData[3 * n + c] = rng.uniform(-1, 1) * 1e30;
      const want = addedX(xs, sumsData, exps, shift, splits, rows, n);
      const ws = roundToDtype(wRaw, 'bf16');
      const x = uploadTensor(ctx, [rows, n], 'f32', xs);
      const w = uploadTensor(ctx, [n], 'bf16', ws);
      const y = createTensor(ctx, [rows, n], 'f32');
      const sums = uploadTensor(ctx, [splits * rows * n], 'f32', sumsData);
      const rowExp = createTensor(ctx, [rows], 'i32');
      if (exps) writeTensor(rowExp, exps);
      const split = { xs: createTensor(ctx, [Math.ceil(rows / 16) * 16 * 16 * xSplitKTiles(n)], 'u32'), rowExp: createTensor(ctx, [rows], 'i32') };
      try {
        for (const path of paths) {
          const label = `[${rows}, ${n}] ${splits} splits${scaled ? ' scaled' : ''}${withSplit ? ', split' : ''}, ${path} ${JSON.stringify(extra)}`;
          writeTensor(x, xs);
          fillTensor(split.xs, 0x7fff7fff);
          fillTensor(split.rowExp, 999);
          const norm = createRmsNormF32(ctx, { n, path, ...extra });
          const addSums = { sums, splits, rows, n, shift, ...(exps ? { rowExp } : {}) };
          const got = await runOnGpu(ctx, norm, { x, w, y, rows, addSums, ...(withSplit ? { split } : {}) });
          expect(await readFloat(x), `${label}: x + sums written back`).toEqual(want);
          const r = compareWithReference(got, want, ws, rows, n, 1e-6);
          expect(withinBounds(r), `${label}: ${describeResult(r)}`).toBe(true);
          if (withSplit) {
            const rowExps = new Int32Array((await readTensor(split.rowExp)).buffer);
            expect(xSplitProblem(got, rows, n, rowExps, (await readTensor(split.xs)) as Uint32Array), label).toBeUndefined();
          }
        }
      } finally {
        for (const t of [x, w, y, sums, rowExp, split.xs, split.rowExp]) t.destroy();
      }
    }
  });
  it('names what it cannot add', () => {
    const norm = createRmsNormF32(ctx, { n: 8 });
    const x = createTensor(ctx, [4, 8], 'f32');
    const xb = createTensor(ctx, [4, 8], 'bf16');
    const w = createTensor(ctx, [8], 'f32');
    const y = createTensor(ctx, [4, 8], 'f32');
    const sums = createTensor(ctx, [2 * 4 * 8], 'f32');
    const pass = ctx.device.createCommandEncoder().beginComputePass();
    const addSums = { sums, splits: 2, rows: 4, n: 8, shift: 0 };
    expect(() => norm.encode(pass, { x: xb, w, y, rows: 4, addSums })).toThrow(/addSums adds into x, which must then be f32, got bf16/);
    expect(() => norm.encode(pass, { x, w, y, rows: 3, addSums })).toThrow(/addSums holds \[4, 8\] sums, the call normalizes \[3, 8\]/);
    expect(() => norm.encode(pass, { x, w, y, rows: 4, addSums: { ...addSums, splits: 3 } })).toThrow(/addSums.sums must be f32 words \(3 × 4 × 8\)/);
    expect(() => norm.encode(pass, { x, w, y, rows: 4, addSums: { ...addSums, splits: 0 } })).toThrow(/splits must be a positive integer/);
    expect(() => norm.encode(pass, { x, w, y, rows: 4, addSums: { ...addSums, splits: 1, sums: x } })).toThrow(
      /addSums.sums shares a buffer with x, y or the split/,
    );
    pass.end();
    for (const t of [x, xb, w, y, sums]) t.destroy();
  });
});

describe('bad arguments', () => {
  it('names what is wrong', () => {
    expect(() => createRmsNormF32(ctx, { n: 0 })).toThrow(/n must be a positive integer/);
    expect(() => createRmsNormF32(ctx, { n: 8, eps: -1 })).toThrow(/eps must be/);
    const norm = createRmsNormF32(ctx, { n: 8 });
    const x = createTensor(ctx, [4, 8], 'bf16');
    const w = createTensor(ctx, [8], 'f32');
    const y = createTensor(ctx, [4, 8], 'f32');
    const yBad = createTensor(ctx, [4, 8], 'bf16');
    const xInt = createTensor(ctx, [4, 8], 'u32');
    const enc = ctx.device.createCommandEncoder();
    const pass = enc.beginComputePass();
    expect(() => norm.encode(pass, { x, w, y: yBad, rows: 4 })).toThrow(/y must be f32, got bf16/);
    expect(() => norm.encode(pass, { x: xInt, w, y, rows: 4 })).toThrow(/x must be f32, bf16 or f16, got u32/);
    expect(() => norm.encode(pass, { x, w, y, rows: 5 })).toThrow(/x \[4,8\] is too small for 5 rows/);
    expect(() => norm.encode(pass, { x, w, y, rows: 4, yOffset: 1 })).toThrow(/y \[4,8\] is too small/);
    expect(() => norm.encode(pass, { x, w, y, rows: 2, xStride: 4 })).toThrow(/strides/);
    pass.end();
    for (const t of [x, w, y, yBad, xInt]) t.destroy();
  });
});
