import type { GpuContext } from './context.ts';
import copySource from './copy.wgsl';
import { defineKernel, type DispatchTarget } from './kernel.ts';
import { createTensor, type Tensor } from './tensor.ts';
import { defineUniforms } from './uniforms.ts';

export interface GpuTiming {
  /** Median GPU time of one `encode` call, in milliseconds. */
  ms: number;
  /** Fastest trial, per call. */
  minMs: number;
  method: 'timestamp-query' | 'wall-clock';
}

export interface TimingOptions {
  /** `encode` calls recorded into each timed pass (amortizes pass overhead). Default 20. */
  repeats?: number;
  /** Timed passes; the median is reported. Default 15. */
  trials?: number;
  /** Untimed passes first: at least this many (default 3), and for at least warmupMs of wall time (default 50),
   * so clocks have ramped up before the first timed pass. */
  warmup?: number;
  warmupMs?: number;
  /**
   * Commands recorded before each timed pass, outside it (e.g. clearing the buffers the pass writes). Needs
   * timestamp-query: wall-clock timing could not leave them out.
   */
  beforeEach?: (encoder: GPUCommandEncoder) => void;
}

/**
 * Times `encode` on the GPU: timestamp queries around a pass that repeats it when the device has
 * timestamp-query, else wall clock over submits awaited with onSubmittedWorkDone.
 */
export async function timeGpu(ctx: GpuContext, encode: (pass: GPUComputePassEncoder) => void, options: TimingOptions = {}): Promise<GpuTiming> {
  const repeats = options.repeats ?? 20;
  const trials = options.trials ?? 15;
  const body = (pass: GPUComputePassEncoder) => {
    for (let r = 0; r < repeats; r++) encode(pass);
  };
  const warmupEnd = performance.now() + (options.warmupMs ?? 50);
  for (let w = 0; w < (options.warmup ?? 3) || performance.now() < warmupEnd; w++) await ctx.run(body, 'warmup');

  const samples: number[] = [];
  let method: GpuTiming['method'] = 'wall-clock';
  if (ctx.features.timestampQuery) {
    method = 'timestamp-query';
    const { device } = ctx;
    const querySet = device.createQuerySet({ type: 'timestamp', count: 2 });
    const resolve = device.createBuffer({ size: 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    const read = device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    try {
      for (let t = 0; t < trials; t++) {
        const encoder = device.createCommandEncoder();
        options.beforeEach?.(encoder);
        const pass = encoder.beginComputePass({ timestampWrites: { querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } });
        body(pass);
        pass.end();
        ctx.uniforms.flush();
        encoder.resolveQuerySet(querySet, 0, 2, resolve, 0);
        encoder.copyBufferToBuffer(resolve, 0, read, 0, 16);
        device.queue.submit([encoder.finish()]);
        await read.mapAsync(GPUMapMode.READ);
        const [begin, end] = new BigUint64Array(read.getMappedRange().slice(0));
        read.unmap();
        samples.push(Number(end! - begin!) / 1e6 / repeats);
      }
    } finally {
      querySet.destroy();
      resolve.destroy();
      read.destroy();
    }
  } else {
    if (options.beforeEach) throw new Error('timeGpu: beforeEach needs timestamp-query, which this device lacks');
    for (let t = 0; t < trials; t++) {
      const start = performance.now();
      await ctx.run(body, 'timing');
      samples.push((performance.now() - start) / repeats);
    }
  }
  samples.sort((a, b) => a - b);
  return { ms: samples[Math.floor(samples.length / 2)]!, minMs: samples[0]!, method };
}

const copyKernel = defineKernel({
  label: 'copy_vec4',
  code: copySource,
  bindings: { src: 'read', dst: 'read_write' },
  uniforms: defineUniforms({ vec4_count: 'u32' }),
});

/**
 * Records dst[0 … words) = src[0 … words) (u32 words, a multiple of 4, both tensors 16-byte aligned) as a compute
 * dispatch, so a copy can sit inside a compute pass (copyBufferToBuffer cannot).
 */
export function encodeCopyWords(ctx: GpuContext, pass: DispatchTarget, src: Tensor, dst: Tensor, words: number): void {
  if (words % 4 !== 0) throw new RangeError(`encodeCopyWords copies whole vec4s; ${words} words is not a multiple of 4`);
  const vec4s = words / 4;
  copyKernel.compile(ctx).encode(pass, { src, dst }, { vec4_count: vec4s }, Math.ceil(vec4s / (256 * 4)), { tag: 'copy', bytes: 8 * words });
}

export interface Bandwidth {
  /** Bytes read + written per second, in GB/s (1e9). */
  gbps: number;
  bytes: number;
  timing: GpuTiming;
}

/** The adapter's copy bandwidth through a compute shader: the ceiling bandwidth-bound kernels are measured against. */
export async function measureCopyBandwidth(ctx: GpuContext, bytes = 256 << 20): Promise<Bandwidth> {
  const size = Math.min(bytes, Math.floor(ctx.limits.maxStorageBufferBindingSize / 16) * 16);
  const vec4s = size / 16;
  const src = createTensor(ctx, [vec4s * 4], 'u32', { label: 'copy src' });
  const dst = createTensor(ctx, [vec4s * 4], 'u32', { label: 'copy dst' });
  try {
    const k = copyKernel.compile(ctx);
    const groups = Math.ceil(vec4s / (256 * 4));
    const timing = await timeGpu(ctx, (pass) => k.encode(pass, { src, dst }, { vec4_count: vec4s }, groups), { repeats: 10, trials: 10 });
    return { gbps: (2 * size) / (timing.ms * 1e6), bytes: 2 * size, timing };
  } finally {
    src.destroy();
    dst.destroy();
  }
}
