import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createRng,
  createTensor,
  DispatchList,
  fillTensor,
  readFloat,
  readTensor,
  reference,
  roundToDtype,
  splitRows,
  uploadTensor,
  writeTensor,
  type GpuContext,
  type KernelLayout,
} from '@qwen3-webgpu/tensor';
import { openTestContext } from '@qwen3-webgpu/tensor/testing';
import { attentionReference } from './attention-reference.ts';
import { attentionScratchSize, createAttention, createEmbedding, createLinear, createSampler } from '../src/kernels/index.ts';
import { resolveSampling, sampleToken } from '../src/sampling.ts';

const rng = createRng();
console.log(`qwen3 kernel tests: seed ${rng.seed}`);
let ctx: GpuContext;
/** linear and swiglu have a GPU and a CPU work layout; each is tested on this adapter through its own context. */
const layouts: Partial<Record<KernelLayout | 'gpu without subgroups', GpuContext>> = {};
beforeAll(async () => {
  ctx = await openTestContext();
  layouts[ctx.kernelLayout] = ctx;
  const other = ctx.kernelLayout === 'cpu' ? 'gpu' : 'cpu';
  layouts[other] = await openTestContext({ kernelLayout: other });
  // The GEMV reduces through subgroups where it can; this context covers its workgroup-memory reduction.
  layouts['gpu without subgroups'] = await openTestContext({ kernelLayout: 'gpu', disableFeatures: ['subgroups'] });
});
afterAll(() => {
  for (const c of Object.values(layouts)) c?.destroy();
});

/** Several rows on the gpu layout take matmul's GEMM; 'gpu, own tiled kernel' keeps linear.wgsl (gemm: 'tiled'). */
const LINEAR_CASES = ['gpu', 'gpu, own tiled kernel', 'cpu', 'gpu without subgroups'] as const;
const linearContext = (layout: (typeof LINEAR_CASES)[number]) => layouts[layout === 'gpu, own tiled kernel' ? 'gpu' : layout]!;
const gemmOf = (layout: (typeof LINEAR_CASES)[number]) => (layout === 'gpu, own tiled kernel' ? 'tiled' : 'auto');

describe.each(LINEAR_CASES)('linear, %s layout', (layout) => {
  for (const dtype of ['bf16', 'f16', 'f32'] as const) {
    // One row with k · bytes a multiple of 16 takes the GEMV on the gpu layout (also forced off: noGemv).
    for (const [rows, n, k, noGemv] of [
      [1, 37, 64, false],
      [1, 37, 64, true],
      [1, 301, 1024, false],
      [1, 70, 3072, false],
      [1, 1030, 64, false],
      [6, 40, 33, false],
      [13, 129, 96, false],
      [1, 19, 1030, false],
      [5, 24, 1030, false],
    ] as const) {
      it(`${dtype} [${rows}, ${k}] · [${n}, ${k}]ᵀ${noGemv ? ' (no GEMV)' : ''}, overwrite and accumulate, whole and in parts`, async () => {
        const ctx = linearContext(layout);
        const x = rng.normalArray(rows * k);
        const w = roundToDtype(rng.normalArray(n * k, 0.2), dtype);
        const r0 = rng.normalArray(rows * n);
        const want = reference.matmulT(x, w, rows, n, k);
        const xt = uploadTensor(ctx, [rows, k], 'f32', x);
        const wt = uploadTensor(ctx, [n, k], dtype, w);
        for (const accumulate of [false, true]) {
          for (const parts of [undefined, splitRows(wt, Math.max(256, Math.ceil(n / 3) * k * 4))]) {
            const y = accumulate ? uploadTensor(ctx, [rows, n], 'f32', r0) : createTensor(ctx, [rows, n], 'f32');
            if (!accumulate) fillTensor(y, NaN);
            const linear = createLinear(ctx, { n, k, dtype, accumulate, noGemv, gemm: gemmOf(layout) });
            await ctx.run((pass) => linear.encode(pass, { x: xt, w: parts ?? wt, y, rows }));
            const got = await readFloat(y);
            const expected = accumulate ? want.map((v, i) => v + r0[i]!) : want;
            expect(reference.relativeL2(got, expected), `accumulate ${accumulate} parts ${parts?.length ?? 1}`).toBeLessThanOrEqual(1e-5);
            y.destroy();
          }
        }
        xt.destroy();
        wt.destroy();
      });
    }
  }
});

describe.each(LINEAR_CASES)('swiglu, %s layout', (layout) => {
  it.each([
    [5, 48, 40],
    [1, 48, 40],
    [1, 75, 1024],
  ] as const)('h = silu(x·Wgᵀ) ⊙ x·Wuᵀ (bf16 weights, [%i, %i, %i])', async (rows, inter, k) => {
    const ctx = linearContext(layout);
    const x = rng.normalArray(rows * k);
    const wg = roundToDtype(rng.normalArray(inter * k, 0.3), 'bf16');
    const wu = roundToDtype(rng.normalArray(inter * k, 0.3), 'bf16');
    const g = reference.silu(reference.matmulT(x, wg, rows, inter, k));
    const u = reference.matmulT(x, wu, rows, inter, k);
    const want = g.map((v, i) => v * u[i]!);
    const h = createTensor(ctx, [rows, inter], 'f32');
    fillTensor(h, NaN);
    const t = [uploadTensor(ctx, [rows, k], 'f32', x), uploadTensor(ctx, [inter, k], 'bf16', wg), uploadTensor(ctx, [inter, k], 'bf16', wu)] as const;
    const swiglu = createLinear(ctx, { n: inter, k, dtype: 'bf16', swiglu: true, gemm: gemmOf(layout) });
    await ctx.run((pass) => swiglu.encode(pass, { x: t[0], w: t[1], w2: t[2], y: h, rows }));
    expect(reference.relativeL2(await readFloat(h), want)).toBeLessThanOrEqual(1e-5);
    for (const tt of [...t, h]) tt.destroy();
  });
});

describe.each(['gpu', 'cpu', 'gpu without subgroups'] as const)('decode GEMVs on weights stored as f16 · 2^s, %s layout', (layout) => {
  // matmul's storeAsF16 re-encodes bf16 weights in place as tensor-core fragments of W · 2^s (what the model does on
  // the tensor-core path); the GEMV must read the fragments and divide 2^s out. Scales both ways: weights around 1e-6 (s > 0) and 2e4 (s < 0: the largest exceed f16's 2^15).
  it.each([
    [2048, 1024, 1e-6],
    [320, 320, 2e4],
  ] as const)('[1, k]·[%i, %i]ᵀ accumulate, and swiglu, std %f', async (n, k, std) => {
    const ctx = layouts[layout]!;
    const { storeAsF16 } = await import('@qwen3-webgpu/matmul');
    const x = rng.normalArray(k);
    // Magnitudes kept above std · 2^-16: storeAsF16 refuses a tensor whose values span more binades than f16 holds
    // exactly, and among 2M normal draws the smallest can fall far enough below std to make that happen by chance.
    const floor = std * 2 ** -16;
    const draw = () =>
      roundToDtype(
        rng.normalArray(n * k, std).map((v) => (Math.abs(v) < floor ? Math.sign(v || 1) * floor : v)),
        'bf16',
      );
    const [w, w2] = [draw(), draw()];
    const r0 = rng.normalArray(n);
    const t = { x: uploadTensor(ctx, [1, k], 'f32', x), w: uploadTensor(ctx, [n, k], 'bf16', w), w2: uploadTensor(ctx, [n, k], 'bf16', w2) };
    const y = uploadTensor(ctx, [1, n], 'f32', r0);
    const h = createTensor(ctx, [1, n], 'f32');
    fillTensor(h, NaN);
    try {
      const [sw, sw2] = await storeAsF16(ctx, [t.w, t.w2]);
      expect(sw && sw2 && sw.scaleLog2 !== 0, 'the weights were re-encoded with a scale').toBe(true);
      const linear = createLinear(ctx, { n, k, dtype: 'bf16', accumulate: true });
      const swiglu = createLinear(ctx, { n, k, dtype: 'bf16', swiglu: true });
      await ctx.run((pass) => {
        linear.encode(pass, { x: t.x, w: sw!.tensor, y, rows: 1 });
        swiglu.encode(pass, { x: t.x, w: sw!.tensor, w2: sw2!.tensor, y: h, rows: 1 });
      });
      const g = reference.matmulT(x, w, 1, n, k);
      expect(
        reference.relativeL2(
          await readFloat(y),
          g.map((v, i) => v + r0[i]!),
        ),
      ).toBeLessThanOrEqual(1e-5);
      const u = reference.matmulT(x, w2, 1, n, k);
      expect(
        reference.relativeL2(
          await readFloat(h),
          reference.silu(g).map((v, i) => v * u[i]!),
        ),
      ).toBeLessThanOrEqual(1e-5);
      // The loader's bf16 view now covers f16 bytes: refused, not read as bf16.
      const pass = ctx.device.createCommandEncoder().beginComputePass();
      expect(() => linear.encode(pass, { x: t.x, w: t.w, y, rows: 1 })).toThrow(/storeAsF16/);
      pass.end();
    } finally {
      for (const tt of [...Object.values(t), y, h]) tt.destroy();
    }
  });
});

describe('embedding', () => {
  it('gathers bf16 rows to f32 across binding parts', async () => {
    const [vocab, hidden] = [300, 24];
    const table = roundToDtype(rng.normalArray(vocab * hidden), 'bf16');
    const ids = [0, 299, 150, 7, 150, 101];
    const t = uploadTensor(ctx, [vocab, hidden], 'bf16', table);
    const parts = splitRows(t, 100 * hidden * 2);
    expect(parts.length).toBeGreaterThan(2);
    const idt = uploadTensor(ctx, [ids.length], 'u32', Uint32Array.from(ids));
    const out = createTensor(ctx, [ids.length, hidden], 'f32');
    fillTensor(out, NaN);
    const embedding = createEmbedding(ctx, parts);
    await ctx.run((pass) => embedding.encode(pass, { ids: idt, out, seq: ids.length }));
    const got = await readFloat(out);
    ids.forEach((id, r) => expect(Array.from(got.subarray(r * hidden, (r + 1) * hidden))).toEqual(Array.from(table.subarray(id * hidden, (id + 1) * hidden))));
    for (const tt of [t, idt, out]) tt.destroy();
  });
});

// 'gpu without subgroups' runs the decode rows only: there they split per query head (attention.wgsl with SPLIT, the
// path of GPUs without fixed-size subgroups); the cpu layout walks a row's keys in one workgroup per head.
describe.each(['gpu', 'cpu', 'gpu without subgroups'] as const)('attention, %s layout', (layout) => {
  for (const [nh, nkv, hd, seq, pos0, split, simple] of [
    [4, 2, 16, 7, 0, false, false],
    [5, 1, 32, 1, 200, false, false],
    [2, 1, 128, 3, 130, false, false],
    [4, 2, 16, 7, 0, false, true],
    [2, 1, 128, 3, 130, false, true],
    [5, 1, 64, 1, 700, true, false],
    [2, 2, 32, 1, 1000, true, false],
    [4, 2, 64, 1, 3, true, false],
    [16, 8, 128, 1, 1023, true, false],
    [6, 2, 256, 1, 259, true, false],
    [8, 1, 16, 1, 130, true, false],
    [5, 1, 64, 37, 0, false, false],
    [4, 2, 128, 40, 300, false, false],
    [2, 1, 256, 18, 5, false, false],
  ] as const) {
    if (layout === 'gpu without subgroups' && !split) continue;
    const kind =
      seq > 1 && !simple
        ? layout === 'gpu'
          ? 'flash prefill, then the tiled one'
          : 'tiled prefill'
        : split && layout !== 'cpu'
          ? `flash-decoding split (${layout === 'gpu' ? 'grouped by KV head' : 'per query head'}) and its combine`
          : 'one workgroup per row';
    it(`causal GQA ${nh}/${nkv} heads, hd ${hd}, ${seq} rows at position ${pos0} (${kind})`, async () => {
      const ctx = layouts[layout]!;
      const capacity = 1024;
      const q = rng.normalArray(seq * nh * hd);
      const k = rng.normalArray(nkv * capacity * hd);
      const v = rng.normalArray(nkv * capacity * hd);
      const want = attentionReference(q, k, v, seq, pos0, nh, nkv, hd, capacity);
      const qt = uploadTensor(ctx, [seq, nh, hd], 'f32', q);
      const kt = uploadTensor(ctx, [nkv, capacity, hd], 'f32', k);
      const vt = uploadTensor(ctx, [nkv, capacity, hd], 'f32', v);
      const out = createTensor(ctx, [seq, nh * hd], 'f32');
      fillTensor(out, NaN);
      const attention = createAttention(ctx, { numHeads: nh, numKvHeads: nkv, headDim: hd, capacity });
      // Several rows get the scratch the model gives them: flash attention splits their keys with it.
      const scratch = split
        ? createTensor(ctx, [attentionScratchSize(seq, nh, hd, capacity)], 'f32')
        : seq > 1 && !simple
          ? createTensor(ctx, [attention.scratchSize(seq)], 'f32')
          : undefined;
      if (scratch) fillTensor(scratch, NaN);
      // Several rows on the gpu layout: flash attention by default, the tiled kernel on request.
      for (const tiled of seq > 1 && !simple && layout === 'gpu' ? [false, true] : [false]) {
        fillTensor(out, NaN);
        await ctx.run((pass) => attention.encode(pass, { q: qt, kCache: kt, vCache: vt, out, seq, pos0, simple, tiled, ...(scratch ? { scratch } : {}) }));
        expect(reference.relativeL2(await readFloat(out), want), tiled ? 'tiled' : 'default').toBeLessThanOrEqual(1e-5);
      }
      for (const tt of [qt, kt, vt, out, ...(scratch ? [scratch] : [])]) tt.destroy();
    });
  }
});

// QK-norm (RMSNorm over head_dim · q_norm / k_norm) and RoPE (rotate_half with a cos/sin table) in float64.
function normRopeHead(x: Float32Array, at: number, hd: number, w: Float32Array, cs: Float32Array, pos: number, eps: number): Float64Array {
  let ss = 0;
  for (let i = 0; i < hd; i++) ss += x[at + i]! ** 2;
  const inv = 1 / Math.sqrt(ss / hd + eps);
  const half = hd / 2;
  const out = new Float64Array(hd);
  for (let i = 0; i < half; i++) {
    const a = x[at + i]! * inv * w[i]!;
    const b = x[at + i + half]! * inv * w[i + half]!;
    const [c, sn] = [cs[(pos * half + i) * 2]!, cs[(pos * half + i) * 2 + 1]!];
    out[i] = a * c - b * sn;
    out[i + half] = b * c + a * sn;
  }
  return out;
}

// Decode steps on the grouped kernel (gpu layout): partials + combine, and `direct` (one workgroup per KV head writes
// the output) where the keys fit, each plain and with QK-norm + RoPE applied in the kernel to raw q and the new key.
// Each takes the most threads whose workgroup memory (a subgroup's output per head) fits: on lavapipe (subgroups of 8,
// 32 KB) 128 threads for 16/8 heads and 64 for 10/2 (five q heads a group), where the H200 (48 KB) runs 512 and 256.
describe('grouped decode attention, gpu layout', () => {
  for (const [nh, nkv, hd, pos0] of [
    [16, 8, 128, 255],
    [16, 8, 128, 37],
    [10, 2, 128, 200],
    [4, 4, 32, 0],
    [6, 2, 80, 130], // 20 vec4 columns: three a lane on subgroups of 8 (lanes 4–7 mask their third)
  ] as const) {
    it(`${nh}/${nkv} heads, hd ${hd}, the row at position ${pos0}: split and direct, plain and with QK-norm + RoPE fused`, async () => {
      const ctx = layouts['gpu']!;
      const capacity = 320;
      const eps = 1e-6;
      const attention = createAttention(ctx, { numHeads: nh, numKvHeads: nkv, headDim: hd, capacity, qkNorm: { eps, dtype: 'f32' } });
      expect(attention.directDecodeKeys, 'direct steps offered').toBeGreaterThanOrEqual(pos0 + 1);
      expect(attention.fusesQkNormRope(1, 'f32')).toBe(true);
      const q = rng.normalArray(nh * hd);
      const k = rng.normalArray(nkv * capacity * hd);
      const v = rng.normalArray(nkv * capacity * hd);
      const qNorm = Float32Array.from(rng.normalArray(hd), (x) => 1 + 0.3 * x);
      const kNorm = Float32Array.from(rng.normalArray(hd), (x) => 1 + 0.3 * x);
      const cs = new Float32Array(capacity * hd);
      for (let p = 0; p < capacity; p++)
        for (let i = 0; i < hd / 2; i++) {
          const angle = p / 10000 ** ((2 * i) / hd);
          cs.set([Math.cos(angle), Math.sin(angle)], ((p * hd) / 2) * 2 + 2 * i);
        }
      // With the fusion the kernel sees raw q and a raw key at pos0; the reference normalizes and rotates them first.
      const qFused = new Float32Array(nh * hd);
      for (let h = 0; h < nh; h++) qFused.set(normRopeHead(q, h * hd, hd, qNorm, cs, pos0, eps), h * hd);
      const kFused = Float32Array.from(k);
      for (let g = 0; g < nkv; g++) kFused.set(normRopeHead(k, (g * capacity + pos0) * hd, hd, kNorm, cs, pos0, eps), (g * capacity + pos0) * hd);
      const want = {
        plain: attentionReference(q, k, v, 1, pos0, nh, nkv, hd, capacity),
        fused: attentionReference(qFused, kFused, v, 1, pos0, nh, nkv, hd, capacity),
      };
      const qt = uploadTensor(ctx, [1, nh, hd], 'f32', q);
      const vt = uploadTensor(ctx, [nkv, capacity, hd], 'f32', v);
      const out = createTensor(ctx, [1, nh * hd], 'f32');
      const scratch = createTensor(ctx, [attention.scratchSize(1)], 'f32');
      const qkNorm = {
        qNorm: uploadTensor(ctx, [hd], 'f32', qNorm),
        kNorm: uploadTensor(ctx, [hd], 'f32', kNorm),
        rope: uploadTensor(ctx, [capacity, hd / 2, 2], 'f32', cs),
      };
      for (const direct of [false, true]) {
        for (const fused of [false, true]) {
          const kt = uploadTensor(ctx, [nkv, capacity, hd], 'f32', k); // the fused kernel rewrites the new key
          fillTensor(out, NaN);
          fillTensor(scratch, NaN);
          const args = { q: qt, kCache: kt, vCache: vt, out, seq: 1, pos0, scratch, direct, ...(fused ? { qkNorm } : {}) };
          await ctx.run((pass) => attention.encode(pass, args));
          const label = `${direct ? 'direct' : 'split + combine'}${fused ? ', QK-norm + RoPE fused' : ''}`;
          expect(reference.relativeL2(await readFloat(out), fused ? want.fused : want.plain), label).toBeLessThanOrEqual(1e-5);
          if (fused) {
            const key = (await readFloat(kt)).subarray(pos0 * hd, (pos0 + 1) * hd);
            expect(reference.relativeL2(key, kFused.subarray(pos0 * hd, (pos0 + 1) * hd)), `${label}: the new key written back`).toBeLessThanOrEqual(1e-6);
          }
          kt.destroy();
        }
      }
      // A recorded direct step refuses positions whose keys no longer fit it.
      const list = new DispatchList(ctx, 'direct step');
      const kt = uploadTensor(ctx, [nkv, capacity, hd], 'f32', k);
      const setPosition = attention.encode(list, { q: qt, kCache: kt, vCache: vt, out, seq: 1, pos0: 0, direct: true });
      setPosition(attention.directDecodeKeys - 1);
      expect(() => setPosition(attention.directDecodeKeys)).toThrow(/at most/);
      list.destroy();
      for (const t of [qt, kt, vt, out, scratch, ...Object.values(qkNorm)]) t.destroy();
    });
  }
});

// argmax.wgsl and sample.wgsl run 64-thread workgroups on the cpu layout, 256 on the gpu layout: both are tested.
describe.each(['cpu', 'gpu'] as const)('greedy selection on the GPU, %s layout', (layout) => {
  const ctx = () => layouts[layout]!;
  it('applies the penalties as the reference does, over ragged vocabularies, and flags non-finite logits', async () => {
    for (const n of [1, 1023, 1025, 5000]) {
      const row = rng.normalArray(n);
      const seenIds = new Set(Array.from({ length: Math.ceil(n / 7) }, () => rng.int(0, n)));
      const top = rng.int(0, n);
      row[top] = 9; // the raw maximum, seen and pushed below others by the penalties
      seenIds.add(top);
      const lt = uploadTensor(ctx(), [n], 'f32', row);
      const seen = uploadTensor(
        ctx(),
        [n],
        'u32',
        Uint32Array.from({ length: n }, (_, i) => (seenIds.has(i) ? 1 : 0)),
      );
      const out = createTensor(ctx(), [1], 'u32');
      const sampler = createSampler(ctx(), n);
      const s = resolveSampling({ temperature: 0, repetitionPenalty: 8, presencePenalty: 1.5 });
      await ctx().run((pass) => sampler.encode(pass, { logits: lt, seen, out, rowOffset: 0, sampling: s, u: 0 }));
      expect((await readTensor(out))[0], `n ${n}`).toBe(sampleToken(row, (i) => seenIds.has(i), s, 0));
      row[rng.int(0, n)] = NaN;
      writeTensor(lt, Float32Array.from(row));
      await ctx().run((pass) => sampler.encode(pass, { logits: lt, seen, out, rowOffset: 0, sampling: s, u: 0 }));
      expect((await readTensor(out))[0], `n ${n} with a NaN`).toBe(0xffffffff);
      sampler.destroy();
      for (const t of [lt, seen, out]) t.destroy();
    }
  });

  it('the sample kernel at temperature 0 finds the maximum of a row (lowest index on ties) in a large vocabulary', async () => {
    const n = 151936;
    const logits = rng.normalArray(2 * n);
    logits[n + 98765] = 50;
    logits[n + 120000] = 50; // a tie: the lower index wins
    const lt = uploadTensor(ctx(), [2, n], 'f32', logits);
    const seen = uploadTensor(ctx(), [n], 'u32', new Uint32Array(n));
    const out = createTensor(ctx(), [1], 'u32');
    await ctx().run((pass) =>
      createSampler(ctx(), n).encode(pass, { logits: lt, seen, out, rowOffset: n, sampling: resolveSampling({ temperature: 0 }), u: 0.5 }),
    );
    expect((await readTensor(out))[0]).toBe(98765);
    for (const t of [lt, seen, out]) t.destroy();
  });
});
