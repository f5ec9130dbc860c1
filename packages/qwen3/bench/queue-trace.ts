// Where a call's time goes between host and GPU (a prompt to its first token, or a run of decode steps, one pass
// each): when the host submitted each command buffer
// (relative to the call), and, on adapters with timestamp queries, when each of their compute passes ran on the GPU
// (one clock for all passes): the span from the first pass's start to the last one's end, the time passes ran, and
// the gaps between them (the GPU waiting for the host's next command buffer, or the cost of a submit).
import type { GpuContext } from '@qwen3-webgpu/tensor';

export interface QueueTrace {
  /** ms after the call of each submit. */
  submits: number[];
  /** ms after the call of each queue.writeBuffer, the first pushErrorScope and the first command encoder made. */
  writes: number[];
  scope?: number;
  encoder?: number;
  /**
   * ms: first pass start to last pass end, the sum of pass times, the passes traced, and the idle time before each
   * pass after the first (undefined: no timestamps).
   */
  gpu?: { span: number; busy: number; passes: number; gaps: number[]; durations: number[] };
}

const MAX_PASSES = 256;

/**
 * Runs `call` once with the queue's submits (and, where the adapter has timestamp queries, every compute pass begun
 * meanwhile) recorded. Passes get timestamps only here: runs whose time is reported are not traced.
 */
export async function traceQueue(ctx: GpuContext, call: () => Promise<unknown>): Promise<QueueTrace> {
  const { device } = ctx;
  const queue = device.queue;
  const submits: number[] = [];
  const writes: number[] = [];
  let scope: number | undefined;
  let encoderAt: number | undefined;
  const querySet = ctx.features.timestampQuery ? device.createQuerySet({ type: 'timestamp', count: 2 * MAX_PASSES }) : undefined;
  let passes = 0;
  const submit = queue.submit.bind(queue);
  const writeBuffer = queue.writeBuffer.bind(queue);
  const pushErrorScope = device.pushErrorScope.bind(device);
  const createEncoder = device.createCommandEncoder.bind(device);
  let t0 = 0;
  queue.submit = (buffers: Iterable<GPUCommandBuffer>) => {
    submits.push(performance.now() - t0);
    submit(buffers);
  };
  queue.writeBuffer = ((...args: Parameters<GPUQueue['writeBuffer']>) => {
    writes.push(performance.now() - t0);
    writeBuffer(...args);
  }) as GPUQueue['writeBuffer'];
  device.pushErrorScope = (filter: GPUErrorFilter) => {
    scope ??= performance.now() - t0;
    pushErrorScope(filter);
  };
  device.createCommandEncoder = (descriptor?: GPUCommandEncoderDescriptor) => {
    encoderAt ??= performance.now() - t0;
    const encoder = createEncoder(descriptor);
    if (querySet) {
      const begin = encoder.beginComputePass.bind(encoder);
      encoder.beginComputePass = (pass?: GPUComputePassDescriptor) => {
        if (passes >= MAX_PASSES) return begin(pass);
        const i = passes++;
        return begin({ ...pass, timestampWrites: { querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 } });
      };
    }
    return encoder;
  };
  try {
    t0 = performance.now();
    await call();
  } finally {
    queue.submit = submit;
    queue.writeBuffer = writeBuffer;
    device.pushErrorScope = pushErrorScope;
    device.createCommandEncoder = createEncoder;
  }
  const host = { submits, writes, ...(scope !== undefined ? { scope } : {}), ...(encoderAt !== undefined ? { encoder: encoderAt } : {}) };
  if (!querySet || passes === 0) {
    querySet?.destroy();
    return host;
  }
  const resolve = device.createBuffer({ size: 16 * passes, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
  const read = device.createBuffer({ size: 16 * passes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  try {
    const encoder = device.createCommandEncoder();
    encoder.resolveQuerySet(querySet, 0, 2 * passes, resolve, 0);
    encoder.copyBufferToBuffer(resolve, 0, read, 0, 16 * passes);
    queue.submit([encoder.finish()]);
    await read.mapAsync(GPUMapMode.READ);
    const ts = new BigUint64Array(read.getMappedRange().slice(0));
    read.unmap();
    let busy = 0n;
    for (let i = 0; i < passes; i++) busy += ts[2 * i + 1]! - ts[2 * i]!;
    const gaps = Array.from({ length: passes - 1 }, (_, i) => Number(ts[2 * i + 2]! - ts[2 * i + 1]!) / 1e6);
    const durations = Array.from({ length: passes }, (_, i) => Number(ts[2 * i + 1]! - ts[2 * i]!) / 1e6);
    return { ...host, gpu: { span: Number(ts[2 * passes - 1]! - ts[0]!) / 1e6, busy: Number(busy) / 1e6, passes, gaps, durations } };
  } finally {
    querySet.destroy();
    resolve.destroy();
    read.destroy();
  }
}

/** One line of a trace: submits after the call, and the GPU's span, busy time and gaps. */
export function describeTrace(t: QueueTrace): string {
  const at = (v: number | undefined) => (v === undefined ? '–' : `+${v.toFixed(2)}`);
  const host =
    `first writes ${t.writes
      .slice(0, 3)
      .map((w) => at(w))
      .join(' ')} (of ${t.writes.length}), error scopes ${at(t.scope)}, first encoder ${at(t.encoder)}, ` +
    `submits ${t.submits.map((v) => at(v)).join(' ')} ms`;
  if (!t.gpu) return host;
  const { span, busy, passes, gaps } = t.gpu;
  // Gaps of 20 µs or more, by the pass they precede (pass i starts command buffer i where each holds one pass).
  const idle = gaps.flatMap((g, i) => (g >= 0.02 ? [`#${i + 1} ${g.toFixed(2)}`] : [])).join(' ');
  return `${host}; GPU ${span.toFixed(2)} ms first pass to last, ${busy.toFixed(2)} in ${passes} passes, ${(span - busy).toFixed(2)} between them${idle ? ` (before pass ${idle})` : ''}`;
}

/**
 * One line for a traced decode (one pass per step): the host's interval between submits, and the GPU's time per
 * step's pass and idle time between passes (medians over the steady steps, the first 4 passes left out). Idle time
 * between passes with the host submitting no faster than that means the host sets the rate; no idle time, the GPU.
 */
export function describeDecodeTrace(t: QueueTrace, steps: number, firstPosition: number): string {
  const median = (v: number[]) => (v.length ? [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]! : NaN);
  const intervals = t.submits.slice(5).map((s, i) => s - t.submits[i + 4]!);
  const host = `${t.submits.length} submits, host interval ${(median(intervals) * 1000).toFixed(0)} µs (median)`;
  if (!t.gpu) return host;
  const { durations, gaps, passes } = t.gpu;
  const steady = durations.slice(4);
  const idle = gaps.slice(4);
  const sum = (v: number[]) => v.reduce((a, b) => a + b, 0);
  return (
    `${host}; GPU per step's pass ${(median(steady) * 1000).toFixed(0)} µs (median, mean ${((sum(steady) / steady.length) * 1000).toFixed(0)}), ` +
    `idle between passes ${(median(idle) * 1000).toFixed(0)} µs (median, mean ${((sum(idle) / idle.length) * 1000).toFixed(0)}) over ${passes} passes; ` +
    `pass at position ${atPositions(durations.slice(-steps), firstPosition)}`
  );
}

/** "p: µs" for eight positions spread over the decode steps' passes (the last `steps` passes, one a step). */
function atPositions(decode: number[], firstPosition: number): string {
  const picks = Array.from({ length: 8 }, (_, i) => Math.min(decode.length - 1, Math.round((i * (decode.length - 1)) / 7)));
  return [...new Set(picks)].map((i) => `${firstPosition + i}: ${(decode[i]! * 1000).toFixed(0)}`).join(', ') + ' µs';
}
