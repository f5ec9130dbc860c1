import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng, createTensor, fillTensor, readFloat, reference, uploadTensor, type GpuContext } from '@qwen3-webgpu/tensor';
import { openTestContext } from '@qwen3-webgpu/tensor/testing';
import { createFlashAttention } from '../src/kernels/attention-flash.ts';
import { attentionReference } from './attention-reference.ts';

const rng = createRng();
console.log(`attention-flash tests: seed ${rng.seed}`);
let ctx: GpuContext;
beforeAll(async () => {
  ctx = await openTestContext();
});
afterAll(() => ctx?.destroy());

describe('flash-attention prefill vs the float64 reference', () => {
  // [nh, nkv, hd, seq, pos0, q scale]: rows per kv head (seq · nh/nkv) not multiples of 64, keys not multiples of
  // 64, groups of 1, 2, 3, 5 query heads per kv head, head_dim 16 … 256, Qwen3-0.6B's 16/8/128, large scores.
  for (const [nh, nkv, hd, seq, pos0, qScale] of [
    [4, 2, 16, 7, 0, 1],
    [5, 1, 32, 37, 0, 1],
    [3, 1, 48, 29, 70, 1],
    [2, 1, 144, 20, 3, 1],
    [2, 1, 128, 3, 130, 1],
    [4, 2, 128, 40, 300, 1],
    [2, 2, 256, 18, 5, 1],
    [6, 2, 64, 100, 17, 1],
    [16, 8, 128, 130, 0, 1],
    [16, 8, 128, 65, 900, 1],
    [16, 8, 128, 33, 0, 6],
  ] as const) {
    it(`causal GQA ${nh}/${nkv} heads, hd ${hd}, ${seq} rows at position ${pos0}${qScale !== 1 ? `, q × ${qScale} (peaked softmax)` : ''}`, async () => {
      const capacity = 1024;
      const q = rng.normalArray(seq * nh * hd, qScale);
      const k = rng.normalArray(nkv * capacity * hd);
      const v = rng.normalArray(nkv * capacity * hd);
      const want = attentionReference(q, k, v, seq, pos0, nh, nkv, hd, capacity);
      const qt = uploadTensor(ctx, [seq, nh, hd], 'f32', q);
      const kt = uploadTensor(ctx, [nkv, capacity, hd], 'f32', k);
      const vt = uploadTensor(ctx, [nkv, capacity, hd], 'f32', v);
      const out = createTensor(ctx, [seq, nh * hd], 'f32');
      try {
        fillTensor(out, NaN);
        const flash = createFlashAttention(ctx, { numHeads: nh, numKvHeads: nkv, headDim: hd });
        await ctx.run((pass) => flash.encode(pass, { q: qt, kCache: kt, vCache: vt, out, seq, pos0 }));
        const got = await readFloat(out);
        expect(
          got.findIndex((x) => !Number.isFinite(x)),
          'first output never written',
        ).toBe(-1);
        expect(reference.relativeL2(got, want)).toBeLessThanOrEqual(1e-6);
        const { maxAbsError, maxAbsRef } = reference.maxAbsError(got, want);
        expect(maxAbsError).toBeLessThanOrEqual(1e-5 * maxAbsRef + 1e-6);
      } finally {
        for (const t of [qt, kt, vt, out]) t.destroy();
      }
    });
  }
  it('rejects shapes it cannot take', () => {
    expect(() => createFlashAttention(ctx, { numHeads: 16, numKvHeads: 8, headDim: 100 })).toThrow(/headDim/);
    expect(() => createFlashAttention(ctx, { numHeads: 6, numKvHeads: 4, headDim: 64 })).toThrow(/multiple of numKvHeads/);
  });
});
