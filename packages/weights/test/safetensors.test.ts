import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRng } from '@qwen3-webgpu/tensor';
import { readSafetensorsHeader, type SafetensorsDtype } from '../src/index.ts';
import { writeSafetensors } from '../src/node/index.ts';
import { tempDir } from './helpers.ts';
import { malformedSafetensors } from './malformed.ts';

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
        specs.map((s, i) => ({
          ...s,
          dtype,
          data: s.name === 'big' ? [data[i]!.subarray(0, 100), data[i]!.subarray(100, 5000), data[i]!.subarray(5000)] : data[i]!,
        })),
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
    await expect(writeSafetensors(join(dir, 'short.safetensors'), [{ name: 'x', dtype: 'F32', shape: [4], data: new Uint8Array(12) }])).rejects.toThrow(
      /got 12 bytes of data, shape × dtype needs 16/,
    );
  });
});

describe('malformed files: each gets its own error, nothing crashes, hangs or over-allocates', () => {
  const cases = malformedSafetensors(dir);
  for (const [what, make, message] of cases) {
    it(what, async () => {
      const file = make();
      const before = process.memoryUsage().arrayBuffers;
      const err = await readSafetensorsHeader(file).then(
        () => null,
        (e: Error) => e,
      );
      expect(err?.name).toBe('WeightsError');
      expect(err?.message).toMatch(message);
      expect(err?.message).toContain(file);
      expect(err?.message.includes('\n')).toBe(false);
      expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 << 20);
    });
  }
});
