import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DispatchList,
  createRng,
  createTensor,
  fillTensor,
  readFloat,
  readTensor,
  reference,
  uploadTensor,
  xSplitKTiles,
  type GpuContext,
} from '@qwen3-webgpu/tensor';
import { openTestContext, xSplitProblem } from '@qwen3-webgpu/tensor/testing';
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
      // Keys walked whole by each workgroup (no scratch), split as the model splits them, and in 3 splits of 64 keys
      // or more whatever the position (splits ending mid-prompt, rows that see only some splits).
      // With xSplit the merge also writes out split for the tensor-core GEMM, and runs with one split too.
      const configs = [
        { name: 'unsplit', split: undefined, scratch: false },
        { name: 'default split', split: undefined, scratch: true },
        { name: '≤ 3 splits of ≥ 64 keys, even deep in a prompt', split: { maxSplits: 3, minKeys: 64, always: true }, scratch: true },
        { name: 'default split, out also split for the GEMM (xSplit)', split: undefined, scratch: true, xSplit: true },
      ];
      try {
        for (const config of configs) {
          const flash = createFlashAttention(ctx, { numHeads: nh, numKvHeads: nkv, headDim: hd, ...(config.split ? { split: config.split } : {}) });
          const scratch = config.scratch ? createTensor(ctx, [flash.scratchSize(seq)], 'f32') : undefined;
          const k = nh * hd;
          const xSplit = config.xSplit
            ? { xs: createTensor(ctx, [Math.ceil(seq / 16) * 16 * xSplitKTiles(k) * 16], 'u32'), rowExp: createTensor(ctx, [seq], 'i32') }
            : undefined;
          try {
            fillTensor(out, NaN);
            if (scratch) fillTensor(scratch, NaN);
            if (xSplit) {
              expect(flash.writesSplitX(seq, scratch)).toBe(true);
              fillTensor(xSplit.xs, 0x7fff7fff);
              fillTensor(xSplit.rowExp, 999);
            }
            await ctx.run(
              (pass) =>
                void flash.encode(pass, { q: qt, kCache: kt, vCache: vt, out, seq, pos0, ...(scratch ? { scratch } : {}), ...(xSplit ? { xSplit } : {}) }),
            );
            const got = await readFloat(out);
            if (xSplit) {
              const rowExp = new Int32Array((await readTensor(xSplit.rowExp)).buffer);
              expect(xSplitProblem(got, seq, k, rowExp, (await readTensor(xSplit.xs)) as Uint32Array), config.name).toBeUndefined();
            }
            expect(
              got.findIndex((x) => !Number.isFinite(x)),
              `${config.name}: first output never written`,
            ).toBe(-1);
            expect(reference.relativeL2(got, want), config.name).toBeLessThanOrEqual(1e-6);
            const { maxAbsError, maxAbsRef } = reference.maxAbsError(got, want);
            expect(maxAbsError, config.name).toBeLessThanOrEqual(1e-5 * maxAbsRef + 1e-6);
          } finally {
            scratch?.destroy();
            xSplit?.xs.destroy();
            xSplit?.rowExp.destroy();
          }
        }
      } finally {
        for (const t of [qt, kt, vt, out]) t.destroy();
      }
    });
  }
  it('splits the keys of prompts from their start (two dispatches), not chunks deep into one, nor without a scratch', () => {
    const flash = createFlashAttention(ctx, { numHeads: 16, numKvHeads: 8, headDim: 128 });
    const kt = createTensor(ctx, [8, 1024, 128], 'f32');
    const q = createTensor(ctx, [512, 16, 128], 'f32');
    const scratch = createTensor(ctx, [flash.scratchSize(512)], 'f32');
    try {
      const tags = (withScratch: boolean, seq = 512, pos0 = 0) => {
        const list = new DispatchList(ctx, 'flash');
        flash.encode(list, { q, kCache: kt, vCache: kt, out: q.view([512, 2048]), seq, pos0, ...(withScratch ? { scratch } : {}) });
        const described = list.describe().map((d) => d.tag);
        list.destroy();
        return described;
      };
      expect(tags(true)).toEqual(['attention flash', 'attention flash combine']);
      expect(tags(false)).toEqual(['attention flash']);
      // A chunk deep into a prompt: every row block sees about as many keys, nothing to balance; with xSplit the merge
      // runs all the same (it writes the split).
      expect(tags(true, 64, 512)).toEqual(['attention flash']);
      expect(flash.writesSplitX(512, scratch)).toBe(true);
      expect(flash.writesSplitX(512, undefined)).toBe(false);
      expect(flash.scratchSize(512)).toBe(512 * 16 * 4 * 130);
      expect(createFlashAttention(ctx, { numHeads: 16, numKvHeads: 8, headDim: 128, split: { maxSplits: 1 } }).scratchSize(512)).toBe(0);
      // Partials that would not fit one storage binding of this adapter: no scratch asked for, keys walked whole.
      const wide = createFlashAttention(ctx, { numHeads: 64, numKvHeads: 8, headDim: 128 });
      const perRow = 64 * 4 * 130 * 4;
      const fits = Math.floor(ctx.limits.maxStorageBufferBindingSize / perRow);
      expect(wide.scratchSize(fits)).toBe(fits * 64 * 4 * 130);
      expect(wide.scratchSize(fits + 1)).toBe(0);
    } finally {
      for (const t of [kt, q, scratch]) t.destroy();
    }
  });
  it('rejects shapes it cannot take', () => {
    expect(() => createFlashAttention(ctx, { numHeads: 16, numKvHeads: 8, headDim: 100 })).toThrow(/headDim/);
    expect(() => createFlashAttention(ctx, { numHeads: 6, numKvHeads: 4, headDim: 64 })).toThrow(/multiple of numKvHeads/);
    expect(() => createFlashAttention(ctx, { numHeads: 16, numKvHeads: 8, headDim: 128, split: { minKeys: 100 } })).toThrow(/minKeys/);
    expect(() => createFlashAttention(ctx, { numHeads: 16, numKvHeads: 8, headDim: 128, split: { maxSplits: 0 } })).toThrow(/maxSplits/);
  });
});
