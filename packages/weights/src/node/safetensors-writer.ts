// safetensors writer (fixtures, the synthetic checkpoint tool, tests). Streams tensor data to disk chunk by chunk.
import { open } from 'node:fs/promises';
import { dtypeBytesOf, type SafetensorsDtype } from '../safetensors.ts';

export interface TensorToWrite {
  name: string;
  dtype: SafetensorsDtype;
  shape: readonly number[];
  /** The raw little-endian bytes, whole or as chunks (produced lazily, so multi-GB files never sit in memory). */
  data: Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>;
}

/** The header bytes (length prefix included) for these tensors, in order, padded with spaces to 8 bytes. */
export function encodeSafetensorsHeader(tensors: readonly Omit<TensorToWrite, 'data'>[], metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length) header['__metadata__'] = metadata;
  let offset = 0;
  for (const t of tensors) {
    if (t.name in header) throw new Error(`duplicate tensor name '${t.name}'`);
    const bytes = t.shape.reduce((a, b) => a * b, 1) * dtypeBytesOf(t.dtype);
    header[t.name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.byteLength / 8) * 8;
  const out = new Uint8Array(8 + padded).fill(0x20);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  return out;
}

/** Writes a .safetensors file; each tensor's data must add up to exactly shape × dtype bytes. */
export async function writeSafetensors(file: string, tensors: readonly TensorToWrite[], metadata?: Record<string, string>): Promise<void> {
  const handle = await open(file, 'w');
  try {
    let position = 0;
    const write = async (bytes: Uint8Array) => {
      let done = 0;
      while (done < bytes.byteLength) {
        const { bytesWritten } = await handle.write(bytes, done, bytes.byteLength - done, position);
        done += bytesWritten;
        position += bytesWritten;
      }
    };
    await write(encodeSafetensorsHeader(tensors, metadata));
    for (const t of tensors) {
      const expected = t.shape.reduce((a, b) => a * b, 1) * dtypeBytesOf(t.dtype);
      let written = 0;
      const chunks = t.data instanceof Uint8Array ? [t.data] : t.data;
      for await (const chunk of chunks) {
        written += chunk.byteLength;
        if (written > expected) break;
        await write(chunk);
      }
      if (written !== expected) throw new Error(`tensor '${t.name}': got ${written} bytes of data, shape × dtype needs ${expected}`);
    }
  } finally {
    await handle.close();
  }
}
