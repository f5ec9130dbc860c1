// A checkpoint directory on disk (Node only: reached through the '#directory' import, whose browser variant refuses
// paths, so node:fs and node:path never enter a browser bundle). Only regular files are read (a FIFO would block the
// reader forever, a directory fails with a pathless EISDIR), every fs failure names the file and its cause, and a
// file that changes after it was opened (size or modification time) is an error, not a mix of old and new bytes.
import { constants } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { WeightsError } from '../errors.ts';
import { truncated, type ByteSource, type CheckpointFiles } from '../sources/files.ts';

const CAUSES: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ELOOP: 'a loop of symbolic links',
  ENOTDIR: 'a component of the path is not a directory',
  EISDIR: 'a directory, not a file',
  ENAMETOOLONG: 'the path is too long',
  EMFILE: 'too many open files',
};

/** `cannot <action>: <cause> (<CODE>)` for a failed file-system call. */
export function fileError(file: string, action: string, err: unknown): WeightsError {
  const code = (err as NodeJS.ErrnoException).code;
  const cause = code ? `${CAUSES[code] ?? code.toLowerCase()} (${code})` : (err as Error).message;
  return new WeightsError(file, `cannot ${action}: ${cause}`);
}

function kindOf(s: { isDirectory(): boolean; isFIFO(): boolean; isSocket(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean }): string {
  if (s.isDirectory()) return 'a directory';
  if (s.isFIFO()) return 'a FIFO (named pipe)';
  if (s.isSocket()) return 'a socket';
  if (s.isCharacterDevice() || s.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

/** True when `file` exists; false only when it does not (ENOENT). Any other failure (EACCES, ELOOP, …) is an error. */
async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw fileError(file, 'read', err);
  }
}

/** Identity of a file's content as far as the file system tells: size and modification time. */
interface FileStamp {
  size: number;
  mtimeMs: number;
}

/**
 * Opens a regular file for reading. O_NONBLOCK keeps open() itself from blocking on a FIFO (it does not affect reads
 * of regular files); the kind is then checked on the open descriptor, so nothing can swap the file in between.
 */
async function openRegularFile(file: string): Promise<{ handle: FileHandle; stamp: FileStamp }> {
  let handle: FileHandle;
  try {
    handle = await open(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (err) {
    throw fileError(file, 'open', err);
  }
  const s = await handle.stat();
  if (!s.isFile()) {
    await handle.close();
    throw new WeightsError(file, `${kindOf(s)}, expected a regular file`);
  }
  return { handle, stamp: { size: s.size, mtimeMs: s.mtimeMs } };
}

/** Throws when the open file's size or modification time moved away from `expected` (it is being rewritten). */
async function checkUnchanged(handle: FileHandle, file: string, expected: FileStamp): Promise<void> {
  const s = await handle.stat();
  if (s.size !== expected.size) throw new WeightsError(file, `changed while being read: ${expected.size} bytes when opened, now ${s.size}`);
  if (s.mtimeMs !== expected.mtimeMs) throw new WeightsError(file, 'changed while being read: modified after it was opened');
}

/**
 * One file on disk, or undefined when there is none (ENOENT). Read with positioned reads, the file opened per read
 * (a few per 8 MiB chunk, and nothing to close); each read checks the file against its size and modification time at
 * open, before and after reading, so a file rewritten or truncated while a model loads is named, not half-read.
 */
export async function openFile(file: string): Promise<ByteSource | undefined> {
  if (!(await exists(file))) return undefined;
  const { handle, stamp } = await openRegularFile(file);
  await handle.close();
  return {
    name: file,
    size: stamp.size,
    async read(target, offset) {
      const { handle } = await openRegularFile(file);
      try {
        await checkUnchanged(handle, file, stamp);
        let done = 0;
        while (done < target.byteLength) {
          let bytesRead: number;
          try {
            ({ bytesRead } = await handle.read(target, done, target.byteLength - done, offset + done));
          } catch (err) {
            throw fileError(file, 'read', err);
          }
          if (bytesRead === 0) throw truncated(file, target.byteLength, offset, done);
          done += bytesRead;
        }
        await checkUnchanged(handle, file, stamp);
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
      if (!(await exists(path(file)))) return undefined;
      const { handle } = await openRegularFile(path(file));
      try {
        return await handle.readFile('utf8');
      } catch (err) {
        throw fileError(path(file), 'read', err);
      } finally {
        await handle.close();
      }
    },
  };
}
