import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng, fillTensor, readBytes, roundToDtype, Tensor, uploadTensor, type GpuContext } from '@qwen3-webgpu/tensor';
import { openTestContext } from '@qwen3-webgpu/tensor/testing';
import { createGemm, type GemmOptions } from './index.ts';
import { describeResult, runGemmCase, withinBounds } from './gemm.test-helpers.ts';
import { storeAsF16 } from './store-f16.ts';
import { checkWeightRange, markStoredF16, storedF16Scale } from './weight-range.ts';

const rng = createRng();
console.log(`store-f16 tests: seed ${rng.seed}`);

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await openTestContext();
});
afterAll(() => ctx?.destroy());

/** IEEE half bits → number (every finite half, subnormals included). */
function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 31) return m ? NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

describe('storeAsF16: weights re-encoded in place as f16w fragments of W · 2^s', () => {
  it('bf16 and f16 weights become exactly W · 2^s, fragment by fragment (Qwen3 and small sizes, tiny and large scales)', async () => {
    for (const [rows, cols, dtype, std] of [
      [1024, 1024, 'bf16', 0.02],
      [64, 192, 'bf16', 3e-6],
      [128, 64, 'f16', 0.05],
    ] as const) {
      const values = rng.normalArray(rows * cols, std);
      values[7] = std * 2 ** -18; // a small weight: the scale must keep it an f16 normal
      const w = uploadTensor(ctx, [rows, cols], dtype, values);
      try {
        const range = await checkWeightRange(ctx, w);
        expect(range.exact, range.reason).toBe(true);
        const [stored] = await storeAsF16(ctx, [w]);
        expect(stored?.scaleLog2).toBe(range.scaleLog2);
        expect(stored!.tensor.dtype).toBe('f16');
        const bytes = await readBytes(stored!.tensor);
        const halves = new Uint16Array(bytes.buffer, bytes.byteOffset, rows * cols);
        const want = roundToDtype(values, dtype);
        // Element (r, c) at fragment (r / 16, c / 16), row r % 16, column c % 16.
        let bad = 0;
        for (let r = 0; r < rows; r++) {
          for (let c = 0; c < cols; c++) {
            const at = ((Math.floor(r / 16) * (cols / 16) + Math.floor(c / 16)) * 16 + (r % 16)) * 16 + (c % 16);
            if (halfToNumber(halves[at]!) !== want[r * cols + c]! * 2 ** range.scaleLog2) bad++;
          }
        }
        expect(bad, `${dtype} [${rows}, ${cols}]: ${bad} weights differ from W · 2^${range.scaleLog2}`).toBe(0);
        // Asking again converts nothing and returns the same view.
        const [again] = await storeAsF16(ctx, [w]);
        expect(again?.scaleLog2).toBe(stored!.scaleLog2);
        expect(Array.from(new Uint16Array((await readBytes(again!.tensor)).buffer, 0, 64))).toEqual(Array.from(halves.subarray(0, 64)));
      } finally {
        w.destroy();
      }
    }
  });

  it('leaves alone what is not exact in f16, f32 weights, and shapes whose fragments would need padding', async () => {
    const wide = rng.normalArray(64 * 64, 0.05);
    wide[3] = 1e-12;
    const cases = [
      uploadTensor(ctx, [64, 64], 'bf16', wide),
      uploadTensor(ctx, [64, 64], 'f32', roundToDtype(rng.normalArray(64 * 64, 0.05), 'f16')),
      uploadTensor(ctx, [40, 64], 'bf16', rng.normalArray(40 * 64, 0.05)),
      uploadTensor(ctx, [64, 96], 'bf16', rng.normalArray(64 * 96, 0.05)),
    ];
    try {
      const before = await Promise.all(cases.map((t) => readBytes(t)));
      expect(await storeAsF16(ctx, cases)).toEqual([undefined, undefined, undefined, undefined]);
      const after = await Promise.all(cases.map((t) => readBytes(t)));
      after.forEach((b, i) => expect(Array.from(b)).toEqual(Array.from(before[i]!)));
    } finally {
      for (const t of cases) t.destroy();
    }
  });

  it("finds a view's stored range among several of one buffer (recorded in any order), and refuses views across or over them", () => {
    const buffer = ctx.device.createBuffer({ size: 4096, usage: GPUBufferUsage.STORAGE });
    for (const [begin, end, scale] of [
      [2048, 3072, 5],
      [0, 1024, 3],
      [1024, 2048, -2],
    ] as const)
      markStoredF16(buffer, begin, end, scale);
    const view = (offset: number, elements: number, dtype: 'f16' | 'bf16' = 'f16') => new Tensor(ctx, buffer, [elements], dtype, offset, false);
    try {
      expect([storedF16Scale(view(0, 512)), storedF16Scale(view(1024, 256)), storedF16Scale(view(2560, 256))]).toEqual([3, -2, 5]);
      expect(storedF16Scale(view(3072, 256)), 'bytes past every range').toBeUndefined();
      expect(() => storedF16Scale(view(512, 512)), 'a view across two ranges').toThrow(/re-encoded as f16/);
      expect(() => storedF16Scale(view(0, 256, 'bf16')), 'a bf16 view of stored bytes').toThrow(/re-encoded as f16 · 2\^3/);
    } finally {
      buffer.destroy();
    }
  });

  it('the GEMM refuses the old view of re-encoded bytes, and FMA handles refuse stored weights, saying why', async () => {
    const w = uploadTensor(ctx, [64, 64], 'bf16', rng.normalArray(64 * 64, 0.05));
    const x = uploadTensor(ctx, [2, 64], 'f32', rng.normalArray(128));
    const y = uploadTensor(ctx, [2, 64], 'f32', rng.normalArray(128));
    fillTensor(y, NaN);
    const fma = createGemm(ctx, { n: 64, k: 64, wDtype: 'bf16', path: 'fma' });
    try {
      const [stored] = await storeAsF16(ctx, [w]);
      const pass = ctx.device.createCommandEncoder().beginComputePass();
      expect(() => fma.encode(pass, { x, w, y, rows: 2 })).toThrow(/re-encoded as f16 · 2\^\d+; pass the f16 view/);
      expect(() => fma.encode(pass, { x, w: stored!.tensor, y, rows: 2 })).toThrow(
        /only the tensor-core f16w kernel with column tiles dividing its rows reads/,
      );
      pass.end();
      // A view reaching past the stored bytes is refused too.
      const past = new Tensor(ctx, w.buffer, [65, 64], 'f16', 0, false);
      expect(() => fma.encode(ctx.device.createCommandEncoder().beginComputePass(), { x, w: past, y, rows: 2 })).toThrow(/storeAsF16/);
    } finally {
      fma.destroy();
      for (const t of [w, x, y]) t.destroy();
    }
  });
});

// The f16w kernel reading stored fragments (no W pass), builtins emulated (lavapipe); small tiles keep compiles short.
describe('f16w on weights stored as f16 · 2^s fragments, builtins emulated', () => {
  const f16w = (o: Omit<GemmOptions, 'path'>): GemmOptions => ({
    ...o,
    subgroupMatrixTile: { variant: 'f16w', sgM: 1, sgN: 2, tm: 1, tn: 1, ...o.subgroupMatrixTile },
    path: 'subgroup-matrix',
    emulateSubgroupMatrix: true,
  });
  async function check(options: GemmOptions, rows: number, extra: { accumulate?: boolean; swiglu?: boolean; w?: Float32Array } = {}) {
    const gemm = createGemm(ctx, options);
    try {
      const r = await runGemmCase(ctx, gemm, rng, { rows, n: options.n, k: options.k, wDtype: options.wDtype, storeF16: true, ...extra });
      expect(withinBounds(r), `[${rows}, ${options.k}]·[${options.n}, ${options.k}]ᵀ: ${describeResult(r)}`).toBe(true);
      expect(r.paths).toEqual(['subgroup-matrix']);
    } finally {
      gemm.destroy();
    }
  }
  it('overwrite, accumulate, swiglu with a k split, tiny weights scaled up', async () => {
    await check(f16w({ n: 64, k: 64, wDtype: 'bf16' }), 21);
    await check(f16w({ n: 128, k: 64, wDtype: 'f16', accumulate: true }), 13, { accumulate: true });
    await check(f16w({ n: 64, k: 128, wDtype: 'bf16', swiglu: true, subgroupMatrixTile: { splitK: 2 } }), 9, { swiglu: true });
    await check(f16w({ n: 64, k: 64, wDtype: 'bf16' }), 5, { w: rng.normalArray(64 * 64, 1e-7) });
  });
});
