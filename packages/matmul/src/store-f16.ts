import { defineKernel, defineUniforms, dtypeWgsl, Tensor, wgslDtypeCode, type GpuContext } from '@qwen3-webgpu/tensor';
import source from './store-f16.wgsl';
import { checkWeightRanges, markStoredF16, storedF16Scale } from './weight-range.ts';

/** A weight re-encoded in place by storeAsF16: an f16 view of its bytes, which hold W · 2^scaleLog2. */
export interface StoredF16 {
  tensor: Tensor;
  scaleLog2: number;
}

const kernel = defineKernel({
  label: 'gemm store W as f16',
  code: `${dtypeWgsl}\n${source}`,
  bindings: { w: 'read_write' },
  uniforms: defineUniforms({ words: 'u32', scale: 'f32' }),
});

/**
 * Re-encodes 16-bit weights in place as f16 · 2^s, where s is the power of two checkWeightRange chose (each weight
 * is then an exact f16 normal, nothing is rounded): the tensor-core 'f16w' GEMM then loads W's fragments straight
 * from it, with no conversion pass and no scratch per call. Returns, per tensor, its f16 view and s, or undefined
 * where the tensor stays as it is (not exact in f16, f32, or not whole u32 words). Tensors already re-encoded
 * return their view again.
 *
 * The bytes change: every later reader must take the returned view, and kernels outside this package must divide s
 * out (2^-s). Views of the old dtype over these bytes are refused by this package's GEMM.
 */
export async function storeAsF16(ctx: GpuContext, tensors: readonly Tensor[]): Promise<(StoredF16 | undefined)[]> {
  const f16View = (t: Tensor) => new Tensor(t.ctx, t.buffer, t.shape, 'f16', t.byteOffset, false);
  const whole = (t: Tensor) => (t.dtype === 'bf16' || t.dtype === 'f16') && t.byteOffset % 4 === 0 && t.byteLength % 4 === 0;
  const done = tensors.map((t) => (t.dtype === 'f16' || whole(t) ? storedBefore(t) : undefined));
  const fresh = tensors.filter((t, i) => done[i] === undefined && whole(t));
  const ranges = await checkWeightRanges(ctx, fresh);
  const convert = fresh.map((t, i) => ({ t, range: ranges[i]! })).filter(({ range }) => range.exact);
  // The same bytes may come twice (a tensor and a view of it): convert each range once.
  const unique = convert.filter(({ t }, i) => convert.findIndex((c) => c.t.buffer === t.buffer && c.t.byteOffset === t.byteOffset) === i);
  const work = unique.filter(({ t, range }) => !(t.dtype === 'f16' && range.scaleLog2 === 0));
  if (work.length > 0) {
    await ctx.run((pass) => {
      for (const { t, range } of work) {
        const words = t.byteLength / 4;
        kernel
          .compile(ctx, { W_DTYPE: wgslDtypeCode(t.dtype) })
          .encode(pass, { w: t }, { words, scale: 2 ** range.scaleLog2 }, Math.ceil(words / 256), { tag: 'store W as f16', bytes: 2 * t.byteLength });
      }
    }, 'gemm store W as f16');
  }
  for (const { t, range } of unique) markStoredF16(t.buffer, t.byteOffset, t.byteOffset + t.byteLength, range.scaleLog2);
  return tensors.map((t, i) => {
    const before = done[i];
    if (before) return before;
    const scaleLog2 = whole(t) ? storedF16Scale(f16View(t)) : undefined;
    return scaleLog2 === undefined ? undefined : { tensor: f16View(t), scaleLog2 };
  });

  function storedBefore(t: Tensor): StoredF16 | undefined {
    const view = f16View(t);
    const scaleLog2 = storedF16Scale(view);
    return scaleLog2 === undefined ? undefined : { tensor: view, scaleLog2 };
  }
}
