import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adjacentRows,
  createGpuContext,
  createRng,
  createTensor,
  defineKernel,
  DispatchList,
  defineUniforms,
  dispatchGrid,
  fillTensor,
  measureCopyBandwidth,
  readFloat,
  readTensor,
  reference,
  splitRows,
  Tensor,
  timeGpu,
  uploadTensor,
  type GpuContext,
} from '../src/index.ts';
import { closeness, openTestContext } from '../src/testing.ts';
import { defineRowSum, encodeRowSum } from './row-sum.ts';
import rowSumSource from './row-sum.wgsl';

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await openTestContext();
});
afterAll(() => ctx?.destroy());

describe('uniform layouts', () => {
  const layout = defineUniforms({ rows: 'u32', eps: 'f32', delta: 'i32' });
  it('packs fields in order, padded to 16 bytes', () => {
    const view = new DataView(layout.pack({ rows: 7, eps: 1e-6, delta: -3 }));
    expect(view.byteLength).toBe(16);
    expect([view.getUint32(0, true), view.getFloat32(4, true), view.getInt32(8, true)]).toEqual([7, Math.fround(1e-6), -3]);
  });
  it('rejects out-of-range and missing values, naming the field', () => {
    expect(() => layout.pack({ rows: -1, eps: 0, delta: 0 })).toThrow(/'rows' must be a u32/);
    expect(() => layout.pack({ rows: 1.5, eps: 0, delta: 0 })).toThrow(/'rows'/);
    expect(() => layout.pack({ rows: 1, eps: NaN, delta: 0 })).toThrow(/'eps'/);
  });
  it('packs into a slot of a larger buffer at an offset (a uniform arena), checking as pack() does', () => {
    const view = new DataView(new ArrayBuffer(64));
    layout.packInto(view, 32, { rows: 2 ** 32 - 1, eps: 0.5, delta: -(2 ** 31) });
    expect([view.getUint32(32, true), view.getFloat32(36, true), view.getInt32(40, true)]).toEqual([2 ** 32 - 1, 0.5, -(2 ** 31)]);
    expect(() => layout.packInto(view, 0, { rows: 1, eps: 0, delta: 2 ** 31 })).toThrow(/'delta' must be a i32/);
    expect(() => layout.packInto(view, 0, { rows: 2 ** 32, eps: 0, delta: 0 })).toThrow(/'rows' must be a u32/);
  });
});

describe('defineKernel', () => {
  it('refuses a WGSL whose bindings or uniform struct disagree with the spec', () => {
    const uniforms = defineUniforms({ rows: 'u32', n: 'u32', row_start: 'u32' });
    expect(() => defineKernel({ label: 'bad', code: rowSumSource, bindings: { y: 'read', x: 'read_write' }, uniforms })).toThrow(/@binding\(0\) is 'x'/);
    expect(() => defineKernel({ label: 'bad', code: rowSumSource, bindings: { x: 'read', y: 'read' }, uniforms })).toThrow(/expected 'y' \(storage, read\)/);
    expect(() =>
      defineKernel({
        label: 'bad',
        code: rowSumSource,
        bindings: { x: 'read', y: 'read_write' },
        uniforms: defineUniforms({ rows: 'u32', n: 'f32', row_start: 'u32' }),
      }),
    ).toThrow(/struct Params is \{rows: u32, n: u32, row_start: u32\}/);
  });

  it('compiles each (source, constants) variant once', async () => {
    const fresh = await createGpuContext();
    try {
      const k = defineRowSum('row_sum_cache');
      k.compile(fresh);
      k.compile(fresh);
      expect(fresh.pipelines.compiles).toBe(1);
      k.compile(fresh, { WG: 32 });
      expect(fresh.pipelines.compiles).toBe(2);
      k.compile(fresh, { WG: 32 });
      expect(fresh.pipelines.compiles).toBe(2);
    } finally {
      fresh.destroy();
    }
  });
});

describe('DispatchList', () => {
  const rng = createRng();
  it('records once and replays with patched uniforms; compile() returns the same handle per constants', async () => {
    const k = defineRowSum('row_sum_list');
    expect(k.compile(ctx)).toBe(k.compile(ctx));
    expect(k.compile(ctx, { WG: 32 })).not.toBe(k.compile(ctx));
    const [rows, n] = [37, 131];
    const x = rng.normalArray(rows * n);
    const xt = uploadTensor(ctx, [rows, n], 'f32', x);
    const y = createTensor(ctx, [2 * rows], 'f32');
    const list = new DispatchList(ctx, 'test list');
    const patch = k.compile(ctx).encode(list, { x: xt, y }, { rows, n, row_start: 0 }, rows, { tag: 'row sum', bytes: rows * n * 4 });
    expect(list.length).toBe(1);
    expect(list.describe()).toEqual([{ tag: 'row sum', bytes: rows * n * 4 }]);
    const want = reference.rowSum(x, rows, n);
    for (const start of [0, rows, 0]) {
      fillTensor(y, NaN);
      patch.set('row_start', start);
      await ctx.run((pass) => list.encode(pass));
      const got = await readFloat(y);
      for (let r = 0; r < rows; r++) expect(Math.abs(got[start + r]! - want[r]!)).toBeLessThanOrEqual(1e-4 * (1 + Math.abs(want[r]!)));
      const untouched = start === 0 ? got.subarray(rows) : got.subarray(0, rows);
      expect(untouched.every(Number.isNaN), `only rows ${start}… were written`).toBe(true);
    }
    expect(() => patch.set('row_start' as never, 1.5)).toThrow(/must be a u32/);
    expect(() => k.compile(ctx).encode(list, { x: xt, y }, { rows, n, row_start: 0 }, rows)).toThrow(/after the list was first encoded/);
    list.destroy();
    xt.destroy();
    y.destroy();
  });

  it("kernelPipelines: replays on the kernel's own pipeline (dynamic offset 0), compiling nothing past a pass encode", async () => {
    const fresh = await createGpuContext();
    try {
      const k = defineRowSum('row_sum_list_dynamic');
      const [rows, n] = [19, 77];
      const x = rng.normalArray(rows * n);
      const xt = uploadTensor(fresh, [rows, n], 'f32', x);
      const y = createTensor(fresh, [2 * rows], 'f32');
      const want = reference.rowSum(x, rows, n);
      const compiled = k.compile(fresh);
      await fresh.run((pass) => void compiled.encode(pass, { x: xt, y }, { rows, n, row_start: 0 }, rows));
      const compiles = fresh.pipelines.compiles;
      // A second dispatch in the list takes the same slot layout at the next offset: both must land.
      const list = new DispatchList(fresh, 'dynamic list', { kernelPipelines: true });
      const first = compiled.encode(list, { x: xt, y }, { rows, n, row_start: 0 }, rows);
      compiled.encode(list, { x: xt, y }, { rows: 1, n, row_start: 2 * rows - 1 }, 1);
      expect(fresh.pipelines.compiles, 'no pipeline compiled for the recording').toBe(compiles);
      for (const start of [rows - 1, 0]) {
        fillTensor(y, NaN);
        first.set('row_start', start);
        await fresh.run((pass) => list.encode(pass));
        const got = await readFloat(y);
        for (let r = 0; r < rows; r++)
          expect(Math.abs(got[start + r]! - want[r]!), `row ${r} at ${start}`).toBeLessThanOrEqual(1e-4 * (1 + Math.abs(want[r]!)));
        expect(Math.abs(got[2 * rows - 1]! - want[0]!), 'the second dispatch (row 0 into the last slot)').toBeLessThanOrEqual(1e-4 * (1 + Math.abs(want[0]!)));
      }
      // The default list compiles the variant without a dynamic offset.
      const plain = new DispatchList(fresh, 'plain list');
      compiled.encode(plain, { x: xt, y }, { rows, n, row_start: 0 }, rows);
      expect(fresh.pipelines.compiles).toBe(compiles + 1);
      for (const t of [list, plain, xt, y]) t.destroy();
    } finally {
      fresh.destroy();
    }
  });
});

describe('dispatchGrid', () => {
  it('stays 1-D up to the limit and goes 2-D past it, covering every workgroup', () => {
    expect(dispatchGrid(65535, 65535)).toEqual([65535, 1, 1]);
    for (const count of [65536, 70000, 131071, 4_000_000]) {
      const [x, y] = dispatchGrid(count, 65535);
      expect(x).toBeLessThanOrEqual(65535);
      expect(x * y).toBeGreaterThanOrEqual(count);
      expect(x * (y - 1)).toBeLessThan(count);
    }
    expect(() => dispatchGrid(65535 ** 2 + 1, 65535)).toThrow(/exceed/);
  });
});

describe('a real kernel against the float64 reference', () => {
  const rng = createRng();
  console.log(`kernel.test seed ${rng.seed}`);

  async function rowSum(rows: number, n: number, maxBindingBytes?: number) {
    const host = rng.normalArray(rows * n);
    const x = uploadTensor(ctx, [rows, n], 'f32', host);
    const y = createTensor(ctx, [rows], 'f32');
    fillTensor(y, NaN);
    let parts = 0;
    await ctx.run((pass) => {
      parts = encodeRowSum(ctx, pass, x, y, maxBindingBytes);
    });
    const out = await readFloat(y);
    x.destroy();
    y.destroy();
    return { parts, c: closeness(out, reference.rowSum(host, rows, n)) };
  }

  it('row sums on a 2-D dispatch grid (70000 rows > 65535 workgroups)', async () => {
    const { parts, c } = await rowSum(70_000, 37);
    expect(parts).toBe(1);
    expect(c.firstNonFinite).toBe(-1);
    expect(c.relL2).toBeLessThan(1e-6);
  });

  it('row sums over a tensor split across bindings', async () => {
    const { parts, c } = await rowSum(1000, 129, 64 * 1024);
    expect(parts).toBeGreaterThan(1);
    expect(c.firstNonFinite).toBe(-1);
    expect(c.relL2).toBeLessThan(1e-6);
  });

  it('splits at aligned row boundaries and rejects rows larger than a binding', () => {
    const t = createTensor(ctx, [1000, 129], 'f32');
    const parts = splitRows(t, 64 * 1024);
    expect(parts.map((p) => p.rowCount).reduce((a, b) => a + b)).toBe(1000);
    for (const p of parts) {
      expect(p.tensor.byteOffset % ctx.limits.minStorageBufferOffsetAlignment).toBe(0);
      expect(p.tensor.bindingSize).toBeLessThanOrEqual(64 * 1024);
    }
    expect(() => splitRows(t, 256)).toThrow(/exceeds the 256 B binding limit/);
    t.destroy();
  });

  it('adjacentRows joins consecutive row views of one buffer into one view a kernel binds whole', async () => {
    const [rows, n] = [37, 52];
    const host = rng.normalArray(rows * n);
    const whole = uploadTensor(ctx, [rows, n], 'f32', host);
    // Ragged ranges whose starts stay 16-byte aligned (52 floats a row): like a layer's q | k | v.
    const [a, b, c] = [whole.rows(0, 20), whole.rows(20, 9), whole.rows(29, 8)];
    const joined = adjacentRows([a, b, c])!;
    expect(joined).toBeDefined();
    expect([joined.buffer === whole.buffer, joined.byteOffset, joined.shape, joined.owner]).toEqual([true, 0, [rows, n], false]);
    const tail = adjacentRows([b, c])!;
    expect([tail.byteOffset, tail.shape]).toEqual([20 * n * 4, [17, n]]);
    const y = createTensor(ctx, [rows], 'f32');
    fillTensor(y, NaN);
    await ctx.run((pass) => expect(encodeRowSum(ctx, pass, joined, y)).toBe(1));
    const c64 = closeness(await readFloat(y), reference.rowSum(host, rows, n));
    expect(c64.firstNonFinite).toBe(-1);
    expect(c64.relL2).toBeLessThan(1e-6);
    y.destroy();

    const other = uploadTensor(ctx, [9, n], 'f32', host.subarray(20 * n, 29 * n));
    const asU32 = new Tensor(ctx, whole.buffer, b.shape, 'u32', b.byteOffset, false);
    for (const [label, parts] of [
      ['nothing', []],
      ['a gap', [a, c]],
      ['out of order', [b, a]],
      ['another buffer', [a, other, c]],
      ['another dtype', [a, asU32]],
      ['another row shape', [a, b.view([18, 26])]],
    ] as [string, Tensor[]][]) {
      expect(adjacentRows(parts), label).toBeUndefined();
    }
    a.destroy();
    expect(adjacentRows([a, b]), 'a destroyed view').toBeUndefined();
    other.destroy();
    whole.destroy();
  });
});

describe('measureCopyBandwidth', () => {
  it('measures a positive bandwidth with a copy that is correct', async () => {
    const bw = await measureCopyBandwidth(ctx, 8 << 20);
    console.log(`copy bandwidth on this adapter: ${bw.gbps.toFixed(2)} GB/s (${bw.timing.method})`);
    expect(bw.gbps).toBeGreaterThan(0);
    expect(Number.isFinite(bw.gbps)).toBe(true);
  });
});

describe('timeGpu', () => {
  // A pass that adds 1 to b[0] per encode call, and a clear before each timed pass: b[0] ends at `repeats` only if the
  // clear ran before the last timed pass and outside it.
  const counter = (c: GpuContext) => {
    const code = '@group(0) @binding(0) var<storage, read_write> b: array<u32>;\n@compute @workgroup_size(1) fn main() { b[0] += 1u; }';
    const pipeline = c.device.createComputePipeline({ layout: 'auto', compute: { module: c.device.createShaderModule({ code }), entryPoint: 'main' } });
    const t = createTensor(c, [4], 'u32');
    const group = c.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: t.buffer } }] });
    const encode = (pass: GPUComputePassEncoder) => {
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, group);
      pass.dispatchWorkgroups(1);
    };
    return { t, encode, clear: (encoder: GPUCommandEncoder) => encoder.clearBuffer(t.buffer) };
  };
  it('beforeEach: commands recorded before each timed pass, outside it', async () => {
    expect(ctx.features.timestampQuery, 'this adapter offers timestamp-query').toBe(true);
    const { t, encode, clear } = counter(ctx);
    let calls = 0;
    const timing = await timeGpu(ctx, encode, { repeats: 3, trials: 4, warmup: 2, warmupMs: 0, beforeEach: (e) => (calls++, clear(e)) });
    expect(timing.method).toBe('timestamp-query');
    expect(calls).toBe(4);
    const [count] = (await readTensor(t)) as Uint32Array;
    expect(count).toBe(3);
    t.destroy();
  });
  it('refuses beforeEach where only wall-clock timing is possible', async () => {
    const plain = await openTestContext({ disableFeatures: ['timestamp-query'] });
    try {
      const { t, encode, clear } = counter(plain);
      await expect(timeGpu(plain, encode, { repeats: 1, trials: 1, warmup: 1, warmupMs: 0, beforeEach: clear })).rejects.toThrow(
        /beforeEach needs timestamp-query/,
      );
      t.destroy();
    } finally {
      plain.destroy();
    }
  });
});
