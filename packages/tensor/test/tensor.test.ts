import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createGpuContext,
  NoAdapterError,
  createRng,
  createTensor,
  DTYPES,
  f32ToBf16,
  f32ToF16,
  fillTensor,
  readBytes,
  readTensor,
  roundToDtype,
  uploadTensor,
  type GpuContext,
  type HostData,
} from '../src/index.ts';
import { openTestContext } from '../src/testing.ts';

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await openTestContext();
});
afterAll(() => ctx?.destroy());

const rng = createRng();
console.log(`tensor.test seed ${rng.seed}`);

function randomHost(dtype: (typeof DTYPES)[number], n: number): HostData {
  switch (dtype) {
    case 'u32':
      return Uint32Array.from({ length: n }, () => (rng.next() * 2 ** 32) >>> 0);
    case 'i32':
      return Int32Array.from({ length: n }, () => (rng.next() * 2 ** 32) | 0);
    default:
      return rng.normalArray(n, 3);
  }
}

describe('Tensor', () => {
  it('reports the adapter it runs on', () => {
    expect(ctx.describe().length).toBeGreaterThan(0);
    expect(ctx.limits.maxStorageBufferBindingSize).toBe(ctx.adapter.limits.maxStorageBufferBindingSize);
  });

  for (const dtype of DTYPES) {
    for (const n of [1, 3, 1027]) {
      it(`round-trips random ${dtype} data of ${n} elements`, async () => {
        const host = randomHost(dtype, n);
        const t = uploadTensor(ctx, [n], dtype, host);
        const back = await readTensor(t);
        const expected = host instanceof Float32Array ? roundToDtype(host, dtype as 'f32' | 'bf16' | 'f16') : host;
        expect(Array.from(back)).toEqual(Array.from(expected));
        t.destroy();
      });
    }
  }

  it('uploads raw 16-bit patterns unchanged', async () => {
    const values = rng.normalArray(515);
    for (const [dtype, bits] of [
      ['bf16', f32ToBf16(values)],
      ['f16', f32ToF16(values)],
    ] as const) {
      const t = uploadTensor(ctx, [515], dtype, bits);
      const raw = await readBytes(t);
      expect(Array.from(new Uint16Array(raw.buffer, 0, 515))).toEqual(Array.from(bits));
      t.destroy();
    }
  });

  it('views row ranges that share the buffer', async () => {
    const host = rng.normalArray(10 * 6);
    const t = uploadTensor(ctx, [10, 6], 'f32', host);
    const view = t.rows(3, 4);
    expect(view.shape).toEqual([4, 6]);
    expect(Array.from(await readTensor(view))).toEqual(Array.from(host.subarray(18, 42)));
    fillTensor(view, -1);
    const after = await readTensor(t);
    expect(Array.from(after.subarray(0, 18))).toEqual(Array.from(host.subarray(0, 18)));
    expect(Array.from(after.subarray(18, 42)).every((v) => v === -1)).toBe(true);
    expect(Array.from(after.subarray(42))).toEqual(Array.from(host.subarray(42)));
    // Zeros go as a clear of the view's range (no upload): the rows around it stay.
    fillTensor(t.rows(4, 2), 0);
    const cleared = await readTensor(t);
    expect(Array.from(cleared.subarray(18, 24)).every((v) => v === -1)).toBe(true);
    expect(Array.from(cleared.subarray(24, 36)).every((v) => v === 0 && !Object.is(v, -0))).toBe(true);
    expect(Array.from(cleared.subarray(36, 42)).every((v) => v === -1)).toBe(true);
    expect(Array.from(cleared.subarray(42))).toEqual(Array.from(host.subarray(42)));
    view.destroy(); // a view does not own the buffer
    expect(Array.from(await readTensor(t.rows(0, 1)))).toEqual(Array.from(host.subarray(0, 6)));
    t.destroy();
    expect(() => t.binding()).toThrow(/after destroy/);
  });

  it('rejects bad shapes, ranges and host arrays with clear errors', () => {
    expect(() => createTensor(ctx, [2, -1], 'f32')).toThrow(/non-negative integers/);
    const t = createTensor(ctx, [4, 3], 'bf16');
    expect(() => t.rows(3, 2)).toThrow(/outside \[0, 4\)/);
    expect(() => t.rows(1, 1)).toThrow(/4-byte boundary/);
    expect(() => uploadTensor(ctx, [4], 'u32', new Float32Array(4))).toThrow(/u32 tensor cannot be written from a Float32Array/);
    t.destroy();
  });

  it('poisons with NaN in every float dtype', async () => {
    for (const dtype of ['f32', 'bf16', 'f16'] as const) {
      const t = createTensor(ctx, [33], dtype);
      fillTensor(t, NaN);
      expect(Array.from(await readTensor(t)).every(Number.isNaN)).toBe(true);
      t.destroy();
    }
  });
});

describe('createGpuContext without an adapter', () => {
  it('throws NoAdapterError naming what to install (Node: Mesa lavapipe from apt, not a script of this repository)', async () => {
    const noGpu = { requestAdapter: async () => null } as unknown as GPU;
    await expect(createGpuContext({ gpu: noGpu })).rejects.toThrow(/No WebGPU adapter found.*apt-get install mesa-vulkan-drivers libvulkan1/);
    await expect(createGpuContext({ gpu: noGpu })).rejects.not.toThrow(/tools\//);
    await expect(createGpuContext({ gpu: noGpu })).rejects.toBeInstanceOf(NoAdapterError);
  });

  it('in a browser without navigator.gpu (the "default" branch of #platform), says which browsers have WebGPU', async () => {
    const browser = await import('../src/platform-browser.ts');
    await expect(browser.platformGpu([])).rejects.toThrow(/navigator\.gpu is missing\): use a browser with WebGPU/);
    await expect(browser.platformGpu([])).rejects.toBeInstanceOf(NoAdapterError);
  });
});
