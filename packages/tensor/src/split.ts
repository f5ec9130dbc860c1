import { dtypeBytes } from './dtype.ts';
import { Tensor } from './tensor.ts';

export interface RowPart {
  /** First row of this part in the whole tensor. */
  rowStart: number;
  rowCount: number;
  /** A view of rows [rowStart, rowStart + rowCount), bindable on its own. */
  tensor: Tensor;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/**
 * Splits a tensor along its first dimension into row ranges that each fit one storage binding
 * (≤ maxBindingBytes, offsets aligned to minStorageBufferOffsetAlignment). Kernels dispatch once per part, passing
 * rowStart as a uniform. A tensor that fits comes back as one part.
 */
export function splitRows(t: Tensor, maxBindingBytes: number = t.ctx.limits.maxStorageBufferBindingSize): RowPart[] {
  const rows = t.shape[0] ?? 1;
  const rowBytes = t.rowNumel * dtypeBytes(t.dtype);
  if (t.bindingSize <= maxBindingBytes) return [{ rowStart: 0, rowCount: rows, tensor: t }];
  const align = t.ctx.limits.minStorageBufferOffsetAlignment;
  if (t.byteOffset % align !== 0) throw new RangeError(`cannot split tensor [${t.shape}]: its offset ${t.byteOffset} is not ${align}-aligned`);
  // Part boundaries must fall on aligned byte offsets: a multiple of `step` rows.
  const step = align / gcd(rowBytes, align);
  // Leave room for rounding the binding up to a whole word.
  const perPart = Math.floor(Math.floor((maxBindingBytes - 4) / rowBytes) / step) * step;
  if (perPart === 0) throw new RangeError(`one row of tensor [${t.shape}] ${t.dtype} (${rowBytes} B × ${step}) exceeds the ${maxBindingBytes} B binding limit`);
  const parts: RowPart[] = [];
  for (let start = 0; start < rows; start += perPart) {
    const count = Math.min(perPart, rows - start);
    parts.push({ rowStart: start, rowCount: count, tensor: t.rows(start, count) });
  }
  return parts;
}

/**
 * One view spanning `tensors` when they are consecutive row ranges of one buffer: same dtype, same row shape, each
 * starting where the previous one ends (a layer's q|k|v weights packed by the loader), else undefined. Lets a kernel
 * that takes row parts make one dispatch over the span instead of one per tensor.
 */
export function adjacentRows(tensors: readonly Tensor[]): Tensor | undefined {
  const [first] = tensors;
  if (!first || first.shape.length === 0) return undefined;
  const rowShape = first.shape.slice(1);
  let rows = 0;
  let end = first.byteOffset;
  for (const t of tensors) {
    if (t.destroyed || t.buffer !== first.buffer || t.dtype !== first.dtype || t.byteOffset !== end) return undefined;
    if (t.shape.length !== first.shape.length || t.shape.some((d, i) => i > 0 && d !== rowShape[i - 1])) return undefined;
    rows += t.shape[0]!;
    end += t.byteLength;
  }
  return new Tensor(first.ctx, first.buffer, [rows, ...rowShape], first.dtype, first.byteOffset, false);
}
