// Counting NaN and ±Inf in raw tensor bytes while they stream past, cheap enough to run on every load: the exponent
// field is tested with integer masks, two 16-bit values per 32-bit word.
import type { SafetensorsDtype } from './safetensors.ts';

/**
 * Non-finite values in `bytes` (little-endian `dtype` values; the byte offset and length are multiples of the value
 * size). An all-ones exponent is Inf or NaN: adding one to the exponent field carries into the sign bit exactly then.
 */
export function countNonFinite(bytes: Uint8Array, dtype: SafetensorsDtype): number {
  const [mask, one, sign] =
    dtype === 'F32'
      ? [0x7f800000, 0x00800000, 0x80000000 | 0]
      : dtype === 'BF16'
        ? [0x7f807f80, 0x00800080, 0x80008000 | 0]
        : [0x7c007c00, 0x04000400, 0x80008000 | 0];
  const words = bytes.byteLength >>> 2;
  const w = bytes.byteOffset % 4 === 0 ? new Int32Array(bytes.buffer, bytes.byteOffset, words) : new Int32Array(bytes.slice(0, words * 4).buffer);
  let count = 0;
  // Blocks of 4096 words: a branch-free OR over the block, then an exact count only in a block that has a hit.
  for (let b = 0; b < words; b += 4096) {
    const e = Math.min(b + 4096, words);
    let acc = 0;
    for (let i = b; i < e; i++) acc |= ((w[i]! & mask) + one) | 0;
    if ((acc & sign) === 0) continue;
    for (let i = b; i < e; i++) {
      const hit = ((w[i]! & mask) + one) & sign;
      if (hit !== 0) count += dtype === 'F32' ? 1 : (hit & 0x8000 ? 1 : 0) + (hit & (0x80000000 | 0) ? 1 : 0);
    }
  }
  if (dtype !== 'F32' && bytes.byteLength % 4 === 2) {
    const last = bytes[bytes.byteLength - 2]! | (bytes[bytes.byteLength - 1]! << 8);
    if ((((last & mask) + one) & 0x8000) !== 0) count++;
  }
  return count;
}

/** The loader's one-line warning for a tensor holding non-finite values. */
export function nonFiniteWarning(file: string, tensor: string, count: number): string {
  return `${file}: tensor '${tensor}' holds ${count} non-finite value${count === 1 ? '' : 's'} (NaN or ±Inf); the model's output will not be finite`;
}
