// A checkpoint directory on disk (Node only: reached through the '#directory' import, whose browser variant refuses
// paths, so node:fs and node:path never enter a browser bundle).
import { open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { WeightsError } from '../errors.ts';
import { truncated, type ByteSource, type CheckpointFiles } from '../sources/files.ts';

const code = (err: unknown) => (err as NodeJS.ErrnoException).code ?? (err as Error).message;
const missing = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT';

/** One file on disk, read with positioned reads (opened per read: a few per 8 MiB chunk, and nothing to close). */
export async function openFile(file: string): Promise<ByteSource | undefined> {
  let size: number;
  try {
    const s = await stat(file);
    if (!s.isFile()) throw new WeightsError(file, 'not a regular file');
    size = s.size;
  } catch (err) {
    if (missing(err)) return undefined;
    if (err instanceof WeightsError) throw err;
    throw new WeightsError(file, `cannot open: ${code(err)}`);
  }
  return {
    name: file,
    size,
    async read(target, offset) {
      let handle;
      try {
        handle = await open(file, 'r');
      } catch (err) {
        throw new WeightsError(file, `cannot open: ${code(err)}`);
      }
      try {
        let done = 0;
        while (done < target.byteLength) {
          const { bytesRead } = await handle.read(target, done, target.byteLength - done, offset + done);
          if (bytesRead === 0) throw truncated(file, target.byteLength, offset, done);
          done += bytesRead;
        }
      } finally {
        await handle.close();
      }
    },
  };
}

export function directoryFiles(dir: string): CheckpointFiles {
  const path = (file: string) => join(dir, file);
  return {
    location: dir,
    path,
    open: (file) => openFile(path(file)),
    async text(file) {
      try {
        return await readFile(path(file), 'utf8');
      } catch (err) {
        if (missing(err)) return undefined;
        throw new WeightsError(path(file), `cannot read: ${code(err)}`);
      }
    },
  };
}
