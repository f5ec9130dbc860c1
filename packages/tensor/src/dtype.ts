/** Element types a Tensor can hold. bf16 and f16 are stored as raw 16-bit patterns (kernels unpack u32 words). */
export type DType = 'f32' | 'f16' | 'bf16' | 'u32' | 'i32';

export const DTYPES: readonly DType[] = ['f32', 'f16', 'bf16', 'u32', 'i32'];

const BYTES: Record<DType, number> = { f32: 4, f16: 2, bf16: 2, u32: 4, i32: 4 };

export function dtypeBytes(dtype: DType): number {
  return BYTES[dtype];
}

export function isFloat(dtype: DType): boolean {
  return dtype === 'f32' || dtype === 'f16' || dtype === 'bf16';
}

export function isDType(value: unknown): value is DType {
  return typeof value === 'string' && (DTYPES as readonly string[]).includes(value);
}

/** Product of a shape's dimensions; throws on negative or fractional entries. */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw new RangeError(`invalid shape [${shape.join(', ')}]: dimensions must be non-negative integers`);
    n *= d;
  }
  return n;
}
