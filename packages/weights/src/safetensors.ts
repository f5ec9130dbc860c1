// safetensors reader: header parsing with the reference implementation's validation, and ranged reads.
// Layout: u64 little-endian header length N, N bytes of JSON header, then the data section. The header maps tensor
// names to { dtype, shape, data_offsets: [begin, end] } (offsets relative to the data section) and may hold
// "__metadata__": { string: string }.
import { openFile } from '#directory';
import { WeightsError } from './errors.ts';
import type { ByteSource } from './sources/files.ts';

/** Dtypes this project loads. */
export type SafetensorsDtype = 'BF16' | 'F16' | 'F32';

/** Dtypes the safetensors format defines (we recognise them to say "unsupported" rather than "unknown"). */
const FORMAT_DTYPES = new Set([
  'BOOL',
  'U8',
  'I8',
  'U16',
  'I16',
  'U32',
  'I32',
  'U64',
  'I64',
  'F64',
  'F8_E4M3',
  'F8_E5M2',
  'E8M0',
  'F4',
  'F6_E2M3',
  'F6_E3M2',
  'C64',
  'BF16',
  'F16',
  'F32',
]);
const DTYPE_BYTES: Record<SafetensorsDtype, number> = { BF16: 2, F16: 2, F32: 4 };

/** The reference implementation refuses headers above 100 MB. */
export const MAX_HEADER_BYTES = 100_000_000;

export interface SafetensorsEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Byte range in the file (absolute, header included). */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  file: string;
  fileSize: number;
  /** Byte offset of the data section. */
  dataOffset: number;
  metadata: Record<string, string>;
  /** Tensors in file order. */
  tensors: SafetensorsEntry[];
}

export function dtypeBytesOf(dtype: SafetensorsDtype): number {
  return DTYPE_BYTES[dtype];
}

function isNonNegativeInteger(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/**
 * Validates and parses a header. `headerBytes` are the N bytes after the 8-byte length; `fileSize` bounds the data
 * section. Throws WeightsError naming the file, the tensor and the rule.
 */
export function parseSafetensorsHeader(file: string, headerBytes: Uint8Array, fileSize: number): SafetensorsHeader {
  const dataOffset = 8 + headerBytes.byteLength;
  const dataSize = fileSize - dataOffset;
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
  } catch (err) {
    throw new WeightsError(file, `header is not valid UTF-8 JSON (${(err as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new WeightsError(file, `header is not a JSON object (got ${Array.isArray(json) ? 'an array' : json === null ? 'null' : typeof json})`);
  }
  const metadata: Record<string, string> = {};
  const tensors: SafetensorsEntry[] = [];
  for (const [name, value] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new WeightsError(file, '__metadata__ must be an object of strings');
      for (const [k, v] of Object.entries(value)) {
        if (typeof v !== 'string') throw new WeightsError(file, `__metadata__ value for '${k}' must be a string`);
        metadata[k] = v;
      }
      continue;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      throw new WeightsError(file, 'entry must be an object with dtype, shape and data_offsets', name);
    const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
    if (typeof dtype !== 'string') throw new WeightsError(file, 'dtype must be a string', name);
    if (!FORMAT_DTYPES.has(dtype)) throw new WeightsError(file, `unknown dtype ${JSON.stringify(dtype)}`, name);
    if (!(dtype in DTYPE_BYTES)) throw new WeightsError(file, `unsupported dtype ${dtype} (this loader reads BF16, F16 and F32)`, name);
    if (!Array.isArray(shape)) throw new WeightsError(file, 'shape must be an array', name);
    for (const d of shape) {
      if (!isNonNegativeInteger(d)) throw new WeightsError(file, `shape entry ${JSON.stringify(d)} is not a non-negative integer`, name);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegativeInteger)) {
      throw new WeightsError(file, 'data_offsets must be two non-negative integers [begin, end]', name);
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end) throw new WeightsError(file, `data_offsets [${begin}, ${end}] end before they begin`, name);
    if (end > dataSize) throw new WeightsError(file, `data_offsets [${begin}, ${end}] run past the data section (${dataSize} bytes)`, name);
    let elements = 1;
    for (const d of shape as number[]) elements *= d;
    const expected = elements * DTYPE_BYTES[dtype as SafetensorsDtype];
    if (!Number.isSafeInteger(expected) || end - begin !== expected) {
      throw new WeightsError(file, `byte length ${end - begin} ≠ shape [${shape.join(', ')}] × ${dtype} (${expected} bytes)`, name);
    }
    tensors.push({ name, dtype: dtype as SafetensorsDtype, shape: shape as number[], begin: dataOffset + begin, end: dataOffset + end });
  }
  // Tensors must tile the data section exactly: sorted by offset, each starting where the previous one ended.
  const sorted = [...tensors].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = dataOffset;
  for (const t of sorted) {
    if (t.begin < cursor)
      throw new WeightsError(file, `overlaps the previous tensor (begins at ${t.begin - dataOffset}, previous ends at ${cursor - dataOffset})`, t.name);
    if (t.begin > cursor) throw new WeightsError(file, `leaves a gap of ${t.begin - cursor} bytes before it in the data section`, t.name);
    cursor = t.end;
  }
  if (cursor !== fileSize) throw new WeightsError(file, `${fileSize - cursor} bytes at the end of the data section belong to no tensor`);
  return { file, fileSize, dataOffset, metadata, tensors: sorted };
}

/**
 * Reads and validates a file's header without reading its data: a path (Node) or any ByteSource (URL, Blob, memory).
 * Allocates at most the header (≤ 100 MB, ≤ file).
 */
export async function readSafetensorsHeader(source: string | ByteSource): Promise<SafetensorsHeader> {
  const bytes = typeof source === 'string' ? await openFile(source) : source;
  if (!bytes) throw new WeightsError(source as string, 'cannot open: no such file (ENOENT)');
  const { name: file, size } = bytes;
  if (size < 8) throw new WeightsError(file, `truncated: ${size} bytes cannot hold the 8-byte header length`);
  const lengthBytes = new Uint8Array(8);
  await bytes.read(lengthBytes, 0);
  const length = new DataView(lengthBytes.buffer).getBigUint64(0, true);
  if (length > BigInt(MAX_HEADER_BYTES)) throw new WeightsError(file, `header length ${length} exceeds the 100 MB limit`);
  if (length > BigInt(size - 8)) throw new WeightsError(file, `header length ${length} runs past the end of the file (${size} bytes)`);
  const header = new Uint8Array(Number(length));
  await bytes.read(header, 8);
  return parseSafetensorsHeader(file, header, size);
}
