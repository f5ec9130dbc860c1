// Host-side float codecs. They work on bit patterns through integer views, never through JS numbers, so NaN
// payloads survive (a float → double → float trip may quiet a signalling NaN on x86).
//
// NaN rules: bf16 → f32 and f16 → f32 keep sign and payload (shifted into the top mantissa bits).
// f32 → bf16 truncates the payload to its top 7 bits and f32 → f16 to its top 10; when that would leave an
// all-zero mantissa (which would read as ±inf) the quiet bit is set instead. Hence every bf16 and f16 bit pattern,
// NaNs included, decodes and re-encodes to itself.

/** bf16 bits [n] → f32 [n]. */
export function bf16ToF32(src: Uint16Array, dst: Float32Array = new Float32Array(src.length)): Float32Array {
  const out = new Uint32Array(dst.buffer, dst.byteOffset, dst.length);
  for (let i = 0; i < src.length; i++) out[i] = src[i]! << 16;
  return dst;
}

/** f32 [n] → bf16 bits [n], round to nearest, ties to even; overflow rounds to ±inf as IEEE does. */
export function f32ToBf16(src: Float32Array, dst: Uint16Array = new Uint16Array(src.length)): Uint16Array {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < bits.length; i++) dst[i] = f32BitsToBf16(bits[i]!);
  return dst;
}

export function f32BitsToBf16(x: number): number {
  if ((x & 0x7fffffff) > 0x7f800000) {
    const hi = x >>> 16;
    return (hi & 0x7f) === 0 ? hi | 0x40 : hi;
  }
  return ((x >>> 0) + 0x7fff + ((x >>> 16) & 1)) >>> 16;
}

/** f16 bits [n] → f32 [n], subnormals included. */
export function f16ToF32(src: Uint16Array, dst: Float32Array = new Float32Array(src.length)): Float32Array {
  const out = new Uint32Array(dst.buffer, dst.byteOffset, dst.length);
  for (let i = 0; i < src.length; i++) out[i] = f16BitsToF32Bits(src[i]!);
  return dst;
}

export function f16BitsToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  let mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0;
  if (exp !== 0) return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
  if (mant === 0) return sign >>> 0;
  // Subnormal: shift the leading one into the implicit position.
  let e = 113;
  while ((mant & 0x400) === 0) {
    mant <<= 1;
    e--;
  }
  return (sign | (e << 23) | ((mant & 0x3ff) << 13)) >>> 0;
}

/** f32 [n] → f16 bits [n], round to nearest, ties to even, producing subnormals and ±inf as IEEE does. */
export function f32ToF16(src: Float32Array, dst: Uint16Array = new Uint16Array(src.length)): Uint16Array {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < bits.length; i++) dst[i] = f32BitsToF16(bits[i]!);
  return dst;
}

export function f32BitsToF16(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const abs = x & 0x7fffffff;
  if (abs > 0x7f800000) {
    const m = (abs >>> 13) & 0x3ff;
    return sign | 0x7c00 | (m === 0 ? 0x200 : m);
  }
  if (abs >= 0x477ff000) return sign | 0x7c00; // ≥ 65520 rounds to inf
  if (abs < 0x38800000) {
    // Below the smallest normal f16 (2^-14): a subnormal or zero. 2^-25 is the tie between 0 and 2^-24 → 0.
    if (abs <= 0x33000000) return sign;
    const e = abs >>> 23;
    const m = (abs & 0x7fffff) | 0x800000;
    const shift = 126 - e;
    let h = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1) === 1)) h++;
    return sign | h;
  }
  const m = abs - 0x38000000; // rebias the exponent from 127 to 15
  let h = m >>> 13;
  const rem = m & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1) === 1)) h++;
  return sign | h;
}

/** Rounds every element to the nearest bf16 / f16 value (returns a new f32 array). Handy for references. */
export function roundToDtype(src: Float32Array, dtype: 'bf16' | 'f16' | 'f32'): Float32Array {
  if (dtype === 'f32') return src.slice();
  return dtype === 'bf16' ? bf16ToF32(f32ToBf16(src)) : f16ToF32(f32ToF16(src));
}
