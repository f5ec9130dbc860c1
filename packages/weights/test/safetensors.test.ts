import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRng } from '@qwen3-webgpu/tensor';
import { readSafetensorsHeader, type SafetensorsDtype } from '../src/index.ts';
import { writeSafetensors } from '../src/node/index.ts';
import { rawSafetensors, tempDir } from './helpers.ts';

const rng = createRng();
console.log(`safetensors tests: seed ${rng.seed}`);
const dir = tempDir('st');
const randomBytes = (n: number) => Uint8Array.from({ length: n }, () => rng.int(0, 256));

describe('writer → reader round trip', () => {
  for (const dtype of ['BF16', 'F16', 'F32'] as const satisfies readonly SafetensorsDtype[]) {
    it(`is byte-identical for ${dtype} (odd sizes, an empty tensor, chunked data, metadata)`, async () => {
      const size = dtype === 'F32' ? 4 : 2;
      const specs = [
        { name: 'a.weight', shape: [3, 5] },
        { name: 'b', shape: [7] },
        { name: 'empty', shape: [0, 4] },
        { name: 'scalar', shape: [] },
        { name: 'big', shape: [33, 129] },
      ];
      const data = specs.map((s) => randomBytes(s.shape.reduce((a, b) => a * b, 1) * size));
      const file = join(dir, `rt-${dtype}.safetensors`);
      // The big tensor arrives as three chunks, to exercise the streaming path.
      await writeSafetensors(
        file,
        specs.map((s, i) => ({ ...s, dtype, data: s.name === 'big' ? [data[i]!.subarray(0, 100), data[i]!.subarray(100, 5000), data[i]!.subarray(5000)] : data[i]! })),
        { format: 'pt' },
      );
      const header = await readSafetensorsHeader(file);
      expect(header.metadata).toEqual({ format: 'pt' });
      expect(header.dataOffset % 8).toBe(0);
      const bytes = readFileSync(file);
      specs.forEach((s, i) => {
        const t = header.tensors.find((e) => e.name === s.name)!;
        expect(t.dtype).toBe(dtype);
        expect(t.shape).toEqual(s.shape);
        expect(Buffer.compare(bytes.subarray(t.begin, t.end), Buffer.from(data[i]!))).toBe(0);
      });
    });
  }

  it('refuses data that does not match shape × dtype', async () => {
    await expect(writeSafetensors(join(dir, 'short.safetensors'), [{ name: 'x', dtype: 'F32', shape: [4], data: new Uint8Array(12) }])).rejects.toThrow(/got 12 bytes of data, shape × dtype needs 16/);
  });
});

describe('malformed files: each gets its own error, nothing crashes, hangs or over-allocates', () => {
  const f32 = (shape: number[], begin: number, end: number) => ({ dtype: 'F32', shape, data_offsets: [begin, end] });
  const cases: [string, () => string, RegExp][] = [
    ['a truncated file', () => { const p = join(dir, 'trunc.safetensors'); writeFileSync(p, new Uint8Array(5)); return p; }, /truncated: 5 bytes cannot hold the 8-byte header length/],
    ['a header length past the end of the file', () => rawSafetensors(join(dir, 'len.safetensors'), { a: f32([1], 0, 4) }, new Uint8Array(4), 10_000n), /header length 10000 runs past the end of the file/],
    ['a header length of 2^63', () => rawSafetensors(join(dir, 'huge.safetensors'), '{}', new Uint8Array(0), 2n ** 63n), /header length 9223372036854775808 exceeds the 100 MB limit/],
    ['invalid JSON', () => rawSafetensors(join(dir, 'json.safetensors'), '{"a": [1, 2'), /header is not valid UTF-8 JSON/],
    ['a header that is not an object', () => rawSafetensors(join(dir, 'array.safetensors'), '[1, 2]'), /header is not a JSON object \(got an array\)/],
    ['an unknown dtype', () => rawSafetensors(join(dir, 'dtype.safetensors'), { a: { dtype: 'Q7', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4)), /tensor 'a': unknown dtype "Q7"/],
    ['an unsupported dtype', () => rawSafetensors(join(dir, 'i64.safetensors'), { a: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8)), /tensor 'a': unsupported dtype I64/],
    ['a negative shape entry', () => rawSafetensors(join(dir, 'neg.safetensors'), { a: f32([-1, 2], 0, 8) }, new Uint8Array(8)), /tensor 'a': shape entry -1 is not a non-negative integer/],
    ['a fractional shape entry', () => rawSafetensors(join(dir, 'frac.safetensors'), { a: f32([1.5], 0, 4) }, new Uint8Array(4)), /tensor 'a': shape entry 1.5 is not a non-negative integer/],
    ['a range out of bounds', () => rawSafetensors(join(dir, 'oob.safetensors'), { a: f32([4], 0, 16) }, new Uint8Array(8)), /tensor 'a': data_offsets \[0, 16\] run past the data section \(8 bytes\)/],
    ['overlapping tensors', () => rawSafetensors(join(dir, 'overlap.safetensors'), { a: f32([2], 0, 8), b: f32([2], 4, 12) }, new Uint8Array(12)), /tensor 'b': overlaps the previous tensor/],
    ['a gap between tensors', () => rawSafetensors(join(dir, 'gap.safetensors'), { a: f32([1], 0, 4), b: f32([1], 8, 12) }, new Uint8Array(12)), /tensor 'b': leaves a gap of 4 bytes/],
    ['trailing bytes no tensor owns', () => rawSafetensors(join(dir, 'tail.safetensors'), { a: f32([1], 0, 4) }, new Uint8Array(12)), /8 bytes at the end of the data section belong to no tensor/],
    ['byte length ≠ shape × dtype', () => rawSafetensors(join(dir, 'bytes.safetensors'), { a: f32([3], 0, 8) }, new Uint8Array(8)), /tensor 'a': byte length 8 ≠ shape \[3\] × F32 \(12 bytes\)/],
    ['offsets that end before they begin', () => rawSafetensors(join(dir, 'rev.safetensors'), { a: f32([0], 4, 0) }, new Uint8Array(4)), /end before they begin/],
    ['a missing file', () => join(dir, 'nope.safetensors'), /cannot open: ENOENT/],
  ];
  for (const [what, make, message] of cases) {
    it(what, async () => {
      const file = make();
      const before = process.memoryUsage().arrayBuffers;
      const err = await readSafetensorsHeader(file).then(() => null, (e: Error) => e);
      expect(err?.name).toBe('WeightsError');
      expect(err?.message).toMatch(message);
      expect(err?.message).toContain(file);
      expect(err?.message.includes('\n')).toBe(false);
      expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 << 20);
    });
  }
});
