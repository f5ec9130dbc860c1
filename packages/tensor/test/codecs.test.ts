import { describe, expect, it } from 'vitest';
import { bf16ToF32, createRng, f16ToF32, f32ToBf16, f32ToF16 } from '../src/index.ts';

const bitsOf = (f: Float32Array) => new Uint32Array(f.buffer, f.byteOffset, f.length);
const allPatterns = () => Uint16Array.from({ length: 65536 }, (_, i) => i);

/** Exact value of an f16 pattern, computed from the IEEE formula in f64 (independent of the codec under test). */
function f16Value(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (exp === 0 ? mant * 2 ** -24 : (1 + mant / 1024) * 2 ** (exp - 15));
}

/** Round-to-nearest-even oracle over an ascending table of candidate values (index parity = mantissa parity). */
function nearestEven(x: number, table: Float64Array, overflow: number): number {
  let lo = 0;
  let hi = table.length - 1;
  if (x >= table[hi]!) {
    // Between max finite and the next power step: ties go to the even candidate, which is infinity.
    const mid = (table[hi]! + overflow) / 2;
    return x < mid ? hi : hi + 1;
  }
  while (hi - lo > 1) {
    const m = (lo + hi) >> 1;
    if (table[m]! <= x) lo = m;
    else hi = m;
  }
  const dLo = x - table[lo]!;
  const dHi = table[hi]! - x;
  if (dLo < dHi) return lo;
  if (dHi < dLo) return hi;
  return lo % 2 === 0 ? lo : hi;
}

describe('bf16 codec', () => {
  it('decodes and re-encodes all 65536 bit patterns to themselves, NaNs included', () => {
    const patterns = allPatterns();
    expect(Array.from(f32ToBf16(bf16ToF32(patterns)))).toEqual(Array.from(patterns));
  });

  it('rounds 1e6 random f32 values to nearest, ties to even', () => {
    const rng = createRng(0xbf16);
    const n = 1_000_000;
    const bits = new Uint32Array(n);
    for (let i = 0; i < n; i++) bits[i] = (rng.next() * 2 ** 32) >>> 0;
    // Edge cases: ties both ways, the overflow tie, subnormal ties, ±0, ±inf, max finite.
    bits.set([
      0x3f808000, 0x3f818000, 0x7f7f7fff, 0x7f7f8000, 0xff7f8000, 0x00008000, 0x00018000, 0x00007fff, 0x80008001, 0, 0x80000000, 0x7f800000, 0xff800000,
      0x7f7fffff, 0x00000001, 0x007fffff,
    ]);
    const encoded = f32ToBf16(new Float32Array(bits.buffer));
    // Oracle: the positive bf16 values in order (patterns 0x0000 … 0x7f7f are monotonic).
    const table = Float64Array.from({ length: 0x7f80 }, (_, i) => new Float32Array(new Uint32Array([i << 16]).buffer)[0]!);
    const f = new Float32Array(bits.buffer);
    for (let i = 0; i < n; i++) {
      const x = f[i]!;
      if (Number.isNaN(x)) {
        expect(encoded[i]! & 0x7fff, `NaN stays NaN at ${bits[i]!.toString(16)}`).toBeGreaterThan(0x7f80);
        continue;
      }
      const sign = bits[i]! >>> 31 ? 0x8000 : 0;
      const expected = Math.abs(x) === Infinity ? 0x7f80 : nearestEven(Math.abs(x), table, 2 ** 128);
      if ((encoded[i]! ^ sign) !== expected) {
        throw new Error(`f32 bits 0x${bits[i]!.toString(16)}: got 0x${encoded[i]!.toString(16)}, expected 0x${(expected | sign).toString(16)}`);
      }
    }
  });
});

describe('f16 codec', () => {
  it('decodes and re-encodes all 65536 bit patterns to themselves, NaNs included', () => {
    const patterns = allPatterns();
    expect(Array.from(f32ToF16(f16ToF32(patterns)))).toEqual(Array.from(patterns));
  });

  it('decodes every pattern to its exact IEEE value (subnormals, ±0, ±inf)', () => {
    const decoded = f16ToF32(allPatterns());
    for (let h = 0; h < 65536; h++) {
      const v = f16Value(h);
      if (Number.isNaN(v)) expect(decoded[h]).toBeNaN();
      else expect(Object.is(decoded[h], v) || decoded[h] === v, `pattern 0x${h.toString(16)}`).toBe(true);
    }
    expect(Object.is(decoded[0x8000], -0)).toBe(true);
  });

  it('rounds 1e6 random f32 values across the f16 range (and beyond) to nearest, ties to even', () => {
    const rng = createRng(0xf16);
    const n = 1_000_000;
    const f = new Float32Array(n);
    for (let i = 0; i < n; i++) f[i] = (rng.next() < 0.5 ? -1 : 1) * 2 ** rng.uniform(-27, 17) * rng.uniform(1, 2);
    // Edge cases: ties, 65504, 65519.99, 65520, the subnormal/zero tie 2^-25, smallest subnormal, min normal.
    f.set([1 + 2 ** -11, 1 + 3 * 2 ** -11, 65504, 65519.99, 65520, 2 ** -25, 2 ** -25 * 1.0001, 2 ** -24, 2 ** -14, 3 * 2 ** -26, 0, -0, Infinity, -Infinity]);
    const encoded = f32ToF16(f);
    const table = Float64Array.from({ length: 0x7c00 }, (_, i) => f16Value(i));
    for (let i = 0; i < n; i++) {
      const x = f[i]!;
      const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
      const expected = Math.abs(x) === Infinity ? 0x7c00 : nearestEven(Math.abs(x), table, 65536);
      if ((encoded[i]! ^ sign) !== expected) {
        throw new Error(`f32 ${x}: got 0x${encoded[i]!.toString(16)}, expected 0x${(expected | sign).toString(16)}`);
      }
    }
  });

  it('keeps NaN a NaN even when the payload lives only in low bits', () => {
    const nan = new Float32Array(new Uint32Array([0x7f800001, 0xff800100]).buffer);
    expect(Array.from(f32ToF16(nan)).every((h) => (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0)).toBe(true);
    expect(Array.from(f32ToBf16(nan)).every((h) => (h & 0x7f80) === 0x7f80 && (h & 0x7f) !== 0)).toBe(true);
    expect(bitsOf(bf16ToF32(new Uint16Array([0x7fc1])))[0]).toBe(0x7fc10000);
  });
});
