import type { DType } from './dtype.ts';
import source from './dtypes.wgsl';

/** WGSL helpers for packed element types (F32 / BF16 / F16 codes, unpack_half); prepend to a kernel's module. */
export const dtypeWgsl: string = source;

const CODES = { f32: 0, bf16: 1, f16: 2 } as const;

/** The code a kernel's dtype override constant takes for a float dtype (matches dtypes.wgsl). */
export function wgslDtypeCode(dtype: DType): number {
  if (!(dtype in CODES)) throw new TypeError(`${dtype} is not a float dtype a kernel can unpack`);
  return CODES[dtype as keyof typeof CODES];
}
