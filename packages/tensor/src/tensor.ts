import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from './codecs.ts';
import type { GpuContext } from './context.ts';
import { type DType, dtypeBytes, numel } from './dtype.ts';

/** Host arrays a tensor of each dtype accepts. bf16/f16 take f32 values (rounded RNE) or raw 16-bit patterns. */
export type HostData = Float32Array | Uint16Array | Uint32Array | Int32Array;
/** What readTensor returns: floats widened to f32, integers as they are. */
export type ReadData = Float32Array | Uint32Array | Int32Array;

export interface TensorOptions {
  label?: string;
  /** Extra usage flags (STORAGE, COPY_SRC and COPY_DST are always set). */
  usage?: GPUBufferUsageFlags;
}

let nextBufferId = 1;
const bufferIds = new WeakMap<GPUBuffer, number>();

/** A buffer range as a key of bind-group caches: the buffer's own number (per process), offset and size. */
export function bindingKey(buffer: GPUBuffer, offset: number, size: number): string {
  let id = bufferIds.get(buffer);
  if (id === undefined) bufferIds.set(buffer, (id = nextBufferId++));
  return `${id}:${offset}:${size}|`;
}

/**
 * A GPU buffer (or a row range of one) with a shape and a dtype. The owner of a buffer destroys it; views do not
 * own their buffer. Lifetimes are explicit: allocate once, reuse across steps, destroy when done.
 */
export class Tensor {
  #destroyed = false;
  /** numel, computed on first use (encoders ask for it several times a dispatch; the shape never changes). */
  #numel: number | undefined;
  #binding: GPUBufferBinding | undefined;
  #bindingKey: string | undefined;

  constructor(
    readonly ctx: GpuContext,
    readonly buffer: GPUBuffer,
    readonly shape: readonly number[],
    readonly dtype: DType,
    readonly byteOffset = 0,
    readonly owner = true,
  ) {}

  get numel(): number {
    return (this.#numel ??= numel(this.shape));
  }

  /** Bytes the elements occupy. */
  get byteLength(): number {
    return this.numel * dtypeBytes(this.dtype);
  }

  /** Bytes to bind: the element bytes rounded up to a whole u32 word (16-bit tensors are read as packed u32). */
  get bindingSize(): number {
    return Math.max(4, Math.ceil(this.byteLength / 4) * 4);
  }

  /** Elements per row (product of all dimensions but the first). */
  get rowNumel(): number {
    return numel(this.shape.slice(1));
  }

  /** The whole tensor as a binding: one frozen object, made on first use (every dispatch that binds it asks). */
  binding(): GPUBufferBinding {
    this.#check();
    return (this.#binding ??= Object.freeze({ buffer: this.buffer, offset: this.byteOffset, size: this.bindingSize }));
  }

  /** binding() as a bind-group cache key (bindingKey of its buffer range), made on first use. */
  get bindingKey(): string {
    return (this.#bindingKey ??= bindingKey(this.buffer, this.byteOffset, this.bindingSize));
  }

  /** A view of rows [start, start + count) along the first dimension, sharing the buffer. */
  rows(start: number, count: number): Tensor {
    this.#check();
    const total = this.shape[0];
    if (total === undefined) throw new RangeError('rows() needs a tensor with at least one dimension');
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(count) || start < 0 || count < 0 || start + count > total) {
      throw new RangeError(`row range [${start}, ${start + count}) is outside [0, ${total})`);
    }
    const offset = this.byteOffset + start * this.rowNumel * dtypeBytes(this.dtype);
    if (offset % 4 !== 0) throw new RangeError(`row ${start} starts at byte ${offset}, not on a 4-byte boundary; pass an element offset to the kernel instead`);
    return new Tensor(this.ctx, this.buffer, [count, ...this.shape.slice(1)], this.dtype, offset, false);
  }

  /** Reshape without copying; the element count must match. */
  view(shape: readonly number[]): Tensor {
    if (numel(shape) !== this.numel) throw new RangeError(`cannot view [${this.shape}] as [${shape}]`);
    return new Tensor(this.ctx, this.buffer, [...shape], this.dtype, this.byteOffset, false);
  }

  get destroyed(): boolean {
    return this.#destroyed;
  }

  destroy(): void {
    if (this.owner && !this.#destroyed) this.buffer.destroy();
    this.#destroyed = true;
  }

  #check(): void {
    if (this.#destroyed) throw new Error('tensor used after destroy()');
  }
}

export function createTensor(ctx: GpuContext, shape: readonly number[], dtype: DType, options: TensorOptions = {}): Tensor {
  const bytes = Math.max(4, Math.ceil((numel(shape) * dtypeBytes(dtype)) / 4) * 4);
  if (bytes > ctx.limits.maxBufferSize) {
    throw new RangeError(`tensor [${shape}] ${dtype} needs ${bytes} B, over this adapter's maxBufferSize ${ctx.limits.maxBufferSize}`);
  }
  const buffer = ctx.device.createBuffer({
    label: options.label ?? `tensor [${shape}] ${dtype}`,
    size: bytes,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST | (options.usage ?? 0),
  });
  return new Tensor(ctx, buffer, [...shape], dtype);
}

/** Creates a tensor and uploads `data` into it. */
export function uploadTensor(ctx: GpuContext, shape: readonly number[], dtype: DType, data: HostData, options: TensorOptions = {}): Tensor {
  const t = createTensor(ctx, shape, dtype, options);
  writeTensor(t, data);
  return t;
}

/** Encodes host data into the tensor's dtype bytes. */
export function encodeHost(dtype: DType, data: HostData): Uint8Array {
  const bytes = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  switch (dtype) {
    case 'f32':
      if (data instanceof Float32Array) return bytes(data);
      break;
    case 'bf16':
    case 'f16':
      if (data instanceof Uint16Array) return bytes(data);
      if (data instanceof Float32Array) return bytes(dtype === 'bf16' ? f32ToBf16(data) : f32ToF16(data));
      break;
    case 'u32':
      if (data instanceof Uint32Array) return bytes(data);
      break;
    case 'i32':
      if (data instanceof Int32Array) return bytes(data);
      break;
  }
  throw new TypeError(`a ${dtype} tensor cannot be written from a ${data.constructor.name}`);
}

const WRITE_CHUNK = 16 << 20;

export function writeTensor(t: Tensor, data: HostData, elementOffset = 0): void {
  const src = encodeHost(t.dtype, data);
  const elemBytes = dtypeBytes(t.dtype);
  if (elementOffset * elemBytes + src.byteLength > t.byteLength) {
    throw new RangeError(`writing ${src.byteLength / elemBytes} elements at ${elementOffset} overflows tensor [${t.shape}] ${t.dtype}`);
  }
  let dst = t.byteOffset + elementOffset * elemBytes;
  if (dst % 4 !== 0) throw new RangeError(`write at element ${elementOffset} of a ${t.dtype} tensor is not 4-byte aligned`);
  for (let pos = 0; pos < src.byteLength; pos += WRITE_CHUNK) {
    let part = src.subarray(pos, Math.min(src.byteLength, pos + WRITE_CHUNK));
    if (part.byteLength % 4 !== 0) {
      // writeBuffer moves whole words. A ragged 16-bit tail is padded with zero bytes, which must land in
      // the buffer's own padding, never in a neighbouring row of a larger buffer.
      if (dst + part.byteLength !== t.byteOffset + t.byteLength || !t.owner) {
        throw new RangeError(`a write ending mid-word inside tensor [${t.shape}] ${t.dtype} view would clobber its neighbour`);
      }
      const padded = new Uint8Array(Math.ceil(part.byteLength / 4) * 4);
      padded.set(part);
      part = padded;
    }
    t.ctx.device.queue.writeBuffer(t.buffer, dst, part);
    dst += part.byteLength;
  }
}

/** Writes the same value into every element (poisoning outputs with NaN before a test run, clearing caches). */
export function fillTensor(t: Tensor, value: number): void {
  const words = t.bindingSize / 4;
  let pattern: number;
  const f = new Float32Array([value]);
  const bits = new Uint32Array(f.buffer)[0]!;
  if (t.dtype === 'f32') pattern = bits;
  else if (t.dtype === 'bf16') pattern = f32ToBf16(f)[0]! * 0x10001;
  else if (t.dtype === 'f16') pattern = f32ToF16(f)[0]! * 0x10001;
  else pattern = value >>> 0;
  if (pattern === 0) {
    // Zeros need no upload: a clear queued like a write (a 600 KB vocabulary mask took ~0.15 ms of host to upload).
    const encoder = t.ctx.device.createCommandEncoder();
    encoder.clearBuffer(t.buffer, t.byteOffset, words * 4);
    t.ctx.device.queue.submit([encoder.finish()]);
    return;
  }
  const chunk = new Uint32Array(Math.min(words, WRITE_CHUNK / 4)).fill(pattern >>> 0);
  for (let w = 0; w < words; w += chunk.length) {
    const n = Math.min(chunk.length, words - w);
    t.ctx.device.queue.writeBuffer(t.buffer, t.byteOffset + w * 4, chunk, 0, n);
  }
}

/** Copies the tensor back to the host: bf16/f16 widened to f32, u32/i32 as they are. */
export async function readTensor(t: Tensor): Promise<ReadData> {
  const raw = await readBytes(t);
  const n = t.numel;
  switch (t.dtype) {
    case 'f32':
      return new Float32Array(raw.buffer, 0, n);
    case 'bf16':
      return bf16ToF32(new Uint16Array(raw.buffer, 0, n));
    case 'f16':
      return f16ToF32(new Uint16Array(raw.buffer, 0, n));
    case 'u32':
      return new Uint32Array(raw.buffer, 0, n);
    case 'i32':
      return new Int32Array(raw.buffer, 0, n);
  }
}

/** Reads an f32/bf16/f16 tensor as Float32Array (throws for integer tensors). */
export async function readFloat(t: Tensor): Promise<Float32Array> {
  const out = await readTensor(t);
  if (!(out instanceof Float32Array)) throw new TypeError(`readFloat on a ${t.dtype} tensor`);
  return out;
}

/** The tensor's raw bytes (length rounded up to 4). */
export async function readBytes(t: Tensor): Promise<Uint8Array> {
  if (t.destroyed) throw new Error('tensor used after destroy()');
  if (t.byteOffset % 4 !== 0) throw new RangeError('readback needs a 4-byte aligned tensor');
  const size = t.bindingSize;
  const { device } = t.ctx;
  const staging = device.createBuffer({ label: 'readback', size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  try {
    const encoder = device.createCommandEncoder();
    encoder.copyBufferToBuffer(t.buffer, t.byteOffset, staging, 0, size);
    device.queue.submit([encoder.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    return new Uint8Array(staging.getMappedRange().slice(0));
  } finally {
    staging.destroy();
  }
}
