// Opening checkpoint files: only regular files (a FIFO would block the reader forever, a directory fails with a
// pathless EISDIR), errors that name the file and the cause, and a check that a file did not change under us.
import { constants } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { WeightsError } from './errors.ts';

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
export function fileError(file: string, action: string, err: unknown, tensor?: string): WeightsError {
  const code = (err as NodeJS.ErrnoException).code;
  const cause = code ? `${CAUSES[code] ?? code.toLowerCase()} (${code})` : (err as Error).message;
  return new WeightsError(file, `cannot ${action}: ${cause}`, tensor);
}

function kindOf(s: { isDirectory(): boolean; isFIFO(): boolean; isSocket(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean }): string {
  if (s.isDirectory()) return 'a directory';
  if (s.isFIFO()) return 'a FIFO (named pipe)';
  if (s.isSocket()) return 'a socket';
  if (s.isCharacterDevice() || s.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

/** True when `file` exists; false only when it does not (ENOENT). Any other failure (EACCES, ELOOP, …) is an error. */
export async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw fileError(file, 'read', err);
  }
}

/** Identity of a file's content as far as the file system tells: size and modification time. */
export interface FileStamp {
  size: number;
  mtimeMs: number;
}

/**
 * Opens a regular file for reading. O_NONBLOCK keeps open() itself from blocking on a FIFO (it does not affect reads
 * of regular files); the kind is then checked on the open descriptor, so nothing can swap the file in between.
 */
export async function openRegularFile(file: string): Promise<{ handle: FileHandle; stamp: FileStamp }> {
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
export async function checkUnchanged(handle: FileHandle, file: string, expected: FileStamp, tensor?: string): Promise<void> {
  const s = await handle.stat();
  if (s.size !== expected.size) throw new WeightsError(file, `changed while being read: ${expected.size} bytes when opened, now ${s.size}`, tensor);
  if (s.mtimeMs !== expected.mtimeMs) throw new WeightsError(file, 'changed while being read: modified after it was opened', tensor);
}
