import { dtypeBytes } from './dtype.ts';
import type { Tensor } from './tensor.ts';

export interface Window {
  /** A bindable byte range of the tensor's buffer, starting on a minStorageBufferOffsetAlignment boundary. */
  binding: GPUBufferBinding;
  /** Where element `firstElement` sits inside the binding, in elements. */
  elementOffset: number;
}

/**
 * Binds elements [firstElement, firstElement + count) of a tensor: the binding starts at the aligned byte at or
 * before the first element, and the kernel adds `elementOffset`. Lets a kernel walk a tensor larger than
 * maxStorageBufferBindingSize in chunks, or address a slice at any element offset.
 */
export function elementWindow(t: Tensor, firstElement: number, count: number): Window {
  const bytes = dtypeBytes(t.dtype);
  if (firstElement < 0 || count < 0 || firstElement + count > t.numel) {
    throw new RangeError(`elements [${firstElement}, ${firstElement + count}) are outside tensor [${t.shape}] (${t.numel} elements)`);
  }
  const align = t.ctx.limits.minStorageBufferOffsetAlignment;
  const startByte = t.byteOffset + firstElement * bytes;
  const boundByte = Math.floor(startByte / align) * align;
  const endByte = Math.ceil((startByte + count * bytes) / 4) * 4;
  const size = Math.max(4, endByte - boundByte);
  if (boundByte + size > t.buffer.size) throw new RangeError(`window of tensor [${t.shape}] runs past its buffer`);
  if (size > t.ctx.limits.maxStorageBufferBindingSize) {
    throw new RangeError(`a window of ${size} B exceeds this adapter's maxStorageBufferBindingSize ${t.ctx.limits.maxStorageBufferBindingSize}`);
  }
  return { binding: { buffer: t.buffer, offset: boundByte, size }, elementOffset: (startByte - boundByte) / bytes };
}
