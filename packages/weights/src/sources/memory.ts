// Checkpoint files a browser already holds: File objects from a folder picker (webkitRelativePath names the folder),
// Blobs, or ArrayBuffers. Blobs are read by slices, so a picked multi-GB file is never read whole.
import { WeightsError } from '../errors.ts';
import { truncated, type ByteSource, type CheckpointFiles } from './files.ts';

/** Bytes of one file: a Blob (File) or memory. */
export type FileBytes = Blob | ArrayBuffer | ArrayBufferView;

/** Files by name ('config.json' → bytes); or File objects, named by their path inside the picked folder. */
export type FileMap = Readonly<Record<string, FileBytes>> | ReadonlyMap<string, FileBytes>;

const isBlob = (v: unknown): v is Blob => typeof Blob !== 'undefined' && v instanceof Blob;

function asBytes(v: ArrayBuffer | ArrayBufferView): Uint8Array {
  return v instanceof ArrayBuffer ? new Uint8Array(v) : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

/**
 * A Blob's bytes. A File whose file on disk changed after it was picked cannot be read any more: browsers (and Node's
 * fs.openAsBlob) reject with NotReadableError, which becomes the loader's "changed while being read".
 */
async function readBlob(name: string, blob: Blob): Promise<ArrayBuffer> {
  try {
    return await blob.arrayBuffer();
  } catch (err) {
    const e = err as Error;
    if (e?.name === 'NotReadableError')
      throw new WeightsError(name, 'changed while being read: no longer readable (NotReadableError), as when the file on disk changes after it was picked');
    throw new WeightsError(name, `cannot read: ${e?.name ?? 'Error'}: ${e?.message ?? String(err)}`);
  }
}

function byteSource(name: string, bytes: FileBytes): ByteSource {
  if (isBlob(bytes)) {
    return {
      name,
      size: bytes.size,
      async read(target, offset) {
        const got = new Uint8Array(await readBlob(name, bytes.slice(offset, offset + target.byteLength)));
        if (got.byteLength !== target.byteLength) throw truncated(name, target.byteLength, offset, got.byteLength);
        target.set(got);
      },
    };
  }
  const all = asBytes(bytes);
  return {
    name,
    size: all.byteLength,
    async read(target, offset) {
      const got = all.subarray(offset, offset + target.byteLength);
      if (got.byteLength !== target.byteLength) throw truncated(name, target.byteLength, offset, got.byteLength);
      target.set(got);
    },
  };
}

/**
 * Files picked in a browser (an `<input type="file" webkitdirectory>`'s FileList, or an array of File): each is named
 * by its path below the picked folder ('Qwen3-0.6B/config.json' → 'config.json'); files in subfolders keep their
 * subfolder ('sub/x.json'). Files picked one by one (no relative path) go by their own name.
 */
export function pickedFiles(files: ArrayLike<File> | Iterable<File>): CheckpointFiles {
  const list = Array.from(files as ArrayLike<File>);
  const map = new Map<string, File>();
  let folder: string | undefined;
  for (const f of list) {
    const rel = (f as File & { webkitRelativePath?: string }).webkitRelativePath || f.name;
    const slash = rel.indexOf('/');
    if (slash >= 0) folder ??= rel.slice(0, slash);
    map.set(slash >= 0 ? rel.slice(slash + 1) : rel, f);
  }
  return memoryFiles(map, folder ?? 'the picked files');
}

/** Files held in memory or as Blobs, by name. `location` names the set in errors. */
export function memoryFiles(files: FileMap, location = 'the given files'): CheckpointFiles {
  const map: ReadonlyMap<string, FileBytes> = files instanceof Map ? files : new Map(Object.entries(files));
  const path = (file: string) => `${location}/${file}`;
  return {
    location,
    path,
    async open(file) {
      const bytes = map.get(file);
      return bytes === undefined ? undefined : byteSource(path(file), bytes);
    },
    async text(file) {
      const bytes = map.get(file);
      if (bytes === undefined) return undefined;
      return new TextDecoder().decode(isBlob(bytes) ? await readBlob(path(file), bytes) : asBytes(bytes));
    },
  };
}
