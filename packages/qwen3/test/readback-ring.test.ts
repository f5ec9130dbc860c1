import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GpuContext } from '@qwen3-webgpu/tensor';
import { openTestContext } from '@qwen3-webgpu/tensor/testing';
import { ReadbackRing } from '../src/gpu/readback-ring.ts';

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await openTestContext();
});
afterAll(() => ctx?.destroy());

describe('ReadbackRing', () => {
  for (const pace of [false, true]) {
    it(`${pace ? 'paced' : 'unpaced'}: every read returns its own step's id, in order, with steps queued behind it`, async () => {
      const ring = new ReadbackRing(ctx.device, 4, pace);
      const src = ctx.device.createBuffer({ size: 4 * 64, usage: GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
      try {
        const ids = Array.from({ length: 40 }, (_, i) => (i * 2654435761) >>> 0);
        ctx.device.queue.writeBuffer(src, 0, Uint32Array.from(ids));
        const got: number[] = [];
        const inFlight: Promise<number>[] = [];
        for (let i = 0; i < ids.length; i++) {
          // Three in flight, as decode's run-ahead keeps them: submit one, read the oldest.
          const b = ring.take();
          const encoder = ctx.device.createCommandEncoder();
          encoder.copyBufferToBuffer(src, 4 * i, b, 0, 4);
          ctx.device.queue.submit([encoder.finish()]);
          inFlight.push(ring.readU32(b));
          if (inFlight.length === 3) got.push(await inFlight.shift()!);
        }
        got.push(...(await Promise.all(inFlight)));
        expect(got).toEqual(ids);
      } finally {
        src.destroy();
        ring.destroy();
      }
    });
  }
});
