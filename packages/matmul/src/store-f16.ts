import { createTensor, Tensor, wgslDtypeCode, type GpuContext } from '@qwen3-webgpu/tensor';
import { wF16Kernel } from './gemm.ts';
import { checkWeightRanges, markStoredF16, storedF16Scale } from './weight-range.ts';

/** A weight re-encoded in place by storeAsF16: an f16 view of its bytes, which hold W · 2^scaleLog2 as fragments. */
export interface StoredF16 {
  tensor: Tensor;
  scaleLog2: number;
}

/** Rows and columns of W whose fragments take exactly W's bytes (no padding): multiples of these. */
const ROW_ALIGN = 64;
const COL_ALIGN = 64;

/**
 * Re-encodes 16-bit weights W [n, k] in place as the tensor-core 'f16w' kernel's fragments of W · 2^s — 16 × 16 tiles
 * [n / 16][k / 16][16 (row)][16 (column)] f16, s the power of two checkWeightRange chose (each weight an exact f16
 * normal: nothing is rounded) — so that kernel loads them as they are, with no conversion pass and no scratch per
 * call. Takes tensors with n and k multiples of 64 (the fragments then fill W's bytes exactly) whose range is exact;
 * returns, per tensor, its f16 view and s, or undefined where it stays as it was. Already re-encoded tensors return
 * their view again.
 *
 * The bytes change layout and encoding: every later reader must take the returned view and know both (row r's
 * columns c … c + 15 lie at fragment (r / 16, c / 16), row r % 16; values times 2^s): this package's GEMM does, and
 * refuses views of the old dtype over these bytes; @qwen3-webgpu/qwen3's decode kernels do.
 */
export async function storeAsF16(ctx: GpuContext, tensors: readonly Tensor[]): Promise<(StoredF16 | undefined)[]> {
  const f16View = (t: Tensor) => new Tensor(t.ctx, t.buffer, t.shape, 'f16', t.byteOffset, false);
  const fits = (t: Tensor) =>
    (t.dtype === 'bf16' || t.dtype === 'f16') &&
    t.shape.length === 2 &&
    t.shape[0]! % ROW_ALIGN === 0 &&
    t.shape[1]! % COL_ALIGN === 0 &&
    t.byteOffset % 4 === 0 &&
    t.numel > 0;
  const before = (t: Tensor): StoredF16 | undefined => {
    if (!fits(t)) return undefined;
    const scaleLog2 = storedF16Scale(f16View(t));
    return scaleLog2 === undefined ? undefined : { tensor: f16View(t), scaleLog2 };
  };
  const done = tensors.map(before);
  const fresh = tensors.filter((t, i) => !done[i] && fits(t));
  const ranges = await checkWeightRanges(ctx, fresh);
  const picked = fresh.map((t, i) => ({ t, range: ranges[i]! })).filter(({ range }) => range.exact);
  // The same bytes may come twice: convert each once.
  const work = picked.filter(({ t }, i) => picked.findIndex((c) => c.t.buffer === t.buffer && c.t.byteOffset === t.byteOffset) === i);
  if (work.length > 0) {
    // Each into a scratch of its own size (w-f16.wgsl cannot read and write one binding), then copied back over W.
    const scratch = work.map(({ t }) => createTensor(ctx, [t.numel / 2], 'u32', { label: 'gemm store W as f16' }));
    const unused = createTensor(ctx, [1], 'f32', { label: 'gemm store W as f16 (y, not written)' });
    try {
      await ctx.run(
        (pass) => {
          work.forEach(({ t, range }, i) => {
            const [n, k] = t.shape as [number, number];
            const params = { rows: 0, n, k, y_stride: 0, col0: 0, w_scale: 2 ** range.scaleLog2, w2_scale: 1 };
            wF16Kernel
              .compile(ctx, { W_DTYPE: wgslDtypeCode(t.dtype), SECOND: 0, VEC8: 1 })
              .encode(pass, { w: t, w2: t, wf: scratch[i]!, y: unused }, params, Math.ceil(t.numel / 8 / 256), {
                tag: 'store W as f16',
                bytes: 2 * t.byteLength,
              });
          });
        },
        'gemm store W as f16',
        (encoder) => work.forEach(({ t }, i) => encoder.copyBufferToBuffer(scratch[i]!.buffer, 0, t.buffer, t.byteOffset, t.byteLength)),
      );
    } finally {
      for (const s of [...scratch, unused]) s.destroy();
    }
    for (const { t, range } of work) markStoredF16(t.buffer, t.byteOffset, t.byteOffset + t.byteLength, range.scaleLog2);
  }
  return tensors.map((t, i) => done[i] ?? before(t));
}
