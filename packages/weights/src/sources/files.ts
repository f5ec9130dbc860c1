// Where a checkpoint's files come from: a directory (Node), a base URL (fetch with HTTP Range), files a user picked
// (File/Blob) or bytes already in memory (ArrayBuffer). Every loader reads through these two small interfaces, so one
// parser and one validator serve every source, with the same error messages.
import { WeightsError } from '../errors.ts';

/** One file, read in ranges. */
export interface ByteSource {
  /** How errors name the file: a path, a URL, or folder/name. */
  readonly name: string;
  /** Size in bytes. */
  readonly size: number;
  /** Fills `target` with the bytes at [offset, offset + target.length); a short read throws "truncated". */
  read(target: Uint8Array, offset: number): Promise<void>;
}

/** A checkpoint folder, wherever it lives. Files are named relative to it ('config.json'). */
export interface CheckpointFiles {
  /** How errors name the folder: a directory path, a base URL, the picked folder's name. */
  readonly location: string;
  /** How errors name one file in it. */
  path(file: string): string;
  /** The file, or undefined when the folder has none by that name. */
  open(file: string): Promise<ByteSource | undefined>;
  /** The whole file as UTF-8 text, or undefined when the folder has none by that name. */
  text(file: string): Promise<string | undefined>;
}

/** A short read: the file changed under us or is cut off. */
export const truncated = (file: string, wanted: number, offset: number, got: number) =>
  new WeightsError(file, `truncated: expected ${wanted} bytes at offset ${offset}, got ${got}`);

/** Reads and parses a JSON file of the folder; errors name the file. Undefined when the file is absent. */
export async function readJsonFile(files: CheckpointFiles, file: string): Promise<unknown> {
  const text = await files.text(file);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new WeightsError(files.path(file), `not valid JSON (${(err as Error).message})`);
  }
}

/** Errors of a read for one tensor name that tensor (a source's own errors know only the file). */
export async function inTensor<T>(tensor: string, read: Promise<T>): Promise<T> {
  try {
    return await read;
  } catch (err) {
    throw err instanceof WeightsError && err.tensor === undefined ? new WeightsError(err.file, err.rule, tensor) : err;
  }
}
