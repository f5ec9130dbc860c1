import {
  defineKernel,
  defineUniforms,
  dtypeBytes,
  dtypeWgsl,
  readTensor,
  uploadTensor,
  wgslDtypeCode,
  type GpuContext,
  type Tensor,
} from '@qwen3-webgpu/tensor';
import source from './weight-range.wgsl';

/** Whether (and how) a weight tensor enters the tensor cores exactly. */
export interface WeightRange {
  /** Every weight · 2^scaleLog2 is an f16 normal or zero, so the subgroup-matrix kernel may take this tensor. */
  exact: boolean;
  /** The power of two the kernel multiplies W by before the f16 conversion (0 when not exact). */
  scaleLog2: number;
  /** Why not, in words (empty when exact). */
  reason: string;
  /** Binary exponents of the largest and the smallest nonzero |w| (NaN for an all-zero tensor, or a stored one). */
  maxExp: number;
  minExp: number;
  /**
   * W already holds W · 2^scaleLog2 as f16 (storeAsF16 re-encoded it in place): the GEMM only divides the scale out,
   * and may load W's fragments straight from it.
   */
  stored?: boolean;
}

const F16_MAX_EXP = 15;
const F16_MIN_NORMAL_EXP = -14;

const kernel = defineKernel({
  label: 'gemm weight range',
  code: `${dtypeWgsl}\n${source}`,
  bindings: { w: 'read', out: 'read_write' },
  uniforms: defineUniforms({ count: 'u32', words: 'u32' }),
});

/** Checked tensors, keyed by buffer then (offset, elements, dtype): a weight is checked once, whichever handle asks. */
const checked = new WeakMap<GPUBuffer, Map<string, WeightRange>>();
const keyOf = (t: Tensor) => `${t.byteOffset}:${t.numel}:${t.dtype}`;

/**
 * Byte ranges of buffers that storeAsF16 re-encoded in place as f16 · 2^scaleLog2: disjoint, sorted by begin (a
 * loader's one buffer holds every layer's weights: each GEMM encode looks its weights up, by binary search).
 */
const storedRanges = new WeakMap<GPUBuffer, { begin: number; end: number; scaleLog2: number }[]>();

/** Records that bytes [begin, end) of `buffer` now hold f16 · 2^scaleLog2 (store-f16.ts, after converting them). */
export function markStoredF16(buffer: GPUBuffer, begin: number, end: number, scaleLog2: number): void {
  let list = storedRanges.get(buffer);
  if (!list) storedRanges.set(buffer, (list = []));
  const at = list.findIndex((r) => r.begin > begin);
  list.splice(at < 0 ? list.length : at, 0, { begin, end, scaleLog2 });
}

/**
 * The scale of a tensor whose bytes storeAsF16 re-encoded (it must then be an f16 view of them, wholly inside one
 * converted range), or undefined for bytes never re-encoded. A view of another dtype over such bytes would read
 * f16 as something else: that throws, naming the tensor.
 */
export function storedF16Scale(t: Tensor): number | undefined {
  const list = storedRanges.get(t.buffer);
  if (!list) return undefined;
  const begin = t.byteOffset;
  const end = begin + t.byteLength;
  // The last range starting before the view's end: the only one that can overlap it without an earlier one
  // overlapping too (the ranges are disjoint), and a view over several ranges fails the containment check below.
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid]!.begin < end) lo = mid + 1;
    else hi = mid;
  }
  const hit = lo > 0 && list[lo - 1]!.end > begin ? list[lo - 1]! : undefined;
  if (!hit) return undefined;
  if (t.dtype !== 'f16' || begin < hit.begin || end > hit.end) {
    throw new TypeError(
      `weight [${t.shape}] ${t.dtype} covers bytes that storeAsF16 re-encoded as f16 · 2^${hit.scaleLog2}; pass the f16 view it returned (or views inside it)`,
    );
  }
  return hit.scaleLog2;
}

/** The range found by an earlier checkWeightRange of this tensor (or of the same bytes), if any; stored f16 first. */
export function knownWeightRange(t: Tensor): WeightRange | undefined {
  const scaleLog2 = storedF16Scale(t);
  if (scaleLog2 !== undefined) return { exact: true, scaleLog2, reason: '', maxExp: NaN, minExp: NaN, stored: true };
  return checked.get(t.buffer)?.get(keyOf(t));
}

/**
 * Reads the exponent range of W on the GPU (one small reduction, one 16-byte readback) and decides the f16 scale:
 * s = 15 − (exponent of max |w|), valid when the smallest nonzero |w| · 2^s is still an f16 normal (the tensor spans
 * ≤ 30 binades) and no weight has more significant bits than f16 keeps. The result is cached per tensor.
 */
export async function checkWeightRange(ctx: GpuContext, t: Tensor): Promise<WeightRange> {
  return (await checkWeightRanges(ctx, [t]))[0]!;
}

/** Bytes between two tensors' result slots: storage bindings start at multiples of 256. */
const SLOT_WORDS = 64;

/**
 * checkWeightRange for many tensors at once (a model's every projection): one pass with a reduction per tensor not
 * checked yet and one readback, instead of a round trip each.
 */
export async function checkWeightRanges(ctx: GpuContext, tensors: readonly Tensor[]): Promise<WeightRange[]> {
  // Unchecked tensors, each once (the same bytes may come twice, e.g. a tied embedding as lm_head).
  const todo = tensors.filter((t, i) => !knownWeightRange(t) && tensors.findIndex((u) => u.buffer === t.buffer && keyOf(u) === keyOf(t)) === i);
  for (const t of todo) {
    if (t.dtype !== 'f32' && t.dtype !== 'bf16' && t.dtype !== 'f16') throw new TypeError(`gemm: weights must be f32, bf16 or f16, got ${t.dtype}`);
    if (t.bindingSize > ctx.limits.maxStorageBufferBindingSize) {
      throw new RangeError(
        `gemm: weight [${t.shape}] (${t.bindingSize} B) exceeds one binding (${ctx.limits.maxStorageBufferBindingSize} B); pass its splitRows() parts`,
      );
    }
  }
  if (todo.length > 0) {
    const init = new Uint32Array(todo.length * SLOT_WORDS);
    for (let i = 0; i < todo.length; i++) init.set([0, 255, 0, 0], i * SLOT_WORDS);
    const out = uploadTensor(ctx, [todo.length, SLOT_WORDS], 'u32', init);
    try {
      await ctx.run((pass) => {
        todo.forEach((t, i) => {
          const words = Math.ceil((t.numel * dtypeBytes(t.dtype)) / 4);
          const groups = Math.max(1, Math.min(4096, Math.ceil(words / (256 * 16))));
          kernel.compile(ctx, { W_DTYPE: wgslDtypeCode(t.dtype) }).encode(pass, { w: t, out: out.rows(i, 1) }, { count: t.numel, words }, groups);
        });
      }, 'gemm weight ranges');
      const got = (await readTensor(out)) as Uint32Array;
      todo.forEach((t, i) => {
        const [emax, emin, wide, bad] = got.subarray(i * SLOT_WORDS, i * SLOT_WORDS + 4);
        let perBuffer = checked.get(t.buffer);
        if (!perBuffer) checked.set(t.buffer, (perBuffer = new Map()));
        perBuffer.set(keyOf(t), decide(emax!, emin!, wide! !== 0, bad! !== 0));
      });
    } finally {
      out.destroy();
    }
  }
  return tensors.map((t) => knownWeightRange(t)!);
}

/** From biased f32 exponents (max, min over nonzero elements) and flags to a decision. */
export function decide(emax: number, emin: number, wide: boolean, nonFinite: boolean): WeightRange {
  const no = (reason: string, maxExp = NaN, minExp = NaN): WeightRange => ({ exact: false, scaleLog2: 0, reason, maxExp, minExp });
  if (nonFinite) return no('holds inf or NaN');
  if (emin > emax) return { exact: true, scaleLog2: 0, reason: '', maxExp: NaN, minExp: NaN }; // all zero
  const maxExp = emax - 127;
  const minExp = emin - 127;
  if (wide) return no('has weights with more significant bits than f16 keeps (11)', maxExp, minExp);
  if (emin === 0) return no('has f32-subnormal weights', maxExp, minExp);
  const scaleLog2 = F16_MAX_EXP - maxExp;
  if (minExp + scaleLog2 < F16_MIN_NORMAL_EXP) {
    return no(`spans 2^${minExp} … 2^${maxExp}, more than f16's ${F16_MAX_EXP - F16_MIN_NORMAL_EXP + 1} binades of normals`, maxExp, minExp);
  }
  if (Math.abs(scaleLog2) > 126) return no(`needs a scale of 2^${scaleLog2}, outside f32's normal range`, maxExp, minExp);
  return { exact: true, scaleLog2, reason: '', maxExp, minExp };
}
