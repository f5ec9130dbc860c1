// Any model source → CheckpointFiles. Strings that look like http(s) URLs are fetched; other strings are directory
// paths, read through '#directory' (node:fs in Node; a clear refusal in browsers).
import { directoryFiles } from '#directory';
import type { CheckpointFiles } from './files.ts';
import { memoryFiles, pickedFiles, type FileMap } from './memory.ts';
import { urlFiles } from './url.ts';

/**
 * Where a checkpoint is: a directory path (Node), an http(s) URL or URL object (the folder's base), the Files of a
 * picked folder (FileList or File[]), a map of file names to Blobs / ArrayBuffers, or any CheckpointFiles.
 */
export type ModelSource = string | URL | CheckpointFiles | ArrayLike<File> | readonly File[] | FileMap;

const isFiles = (s: object): s is CheckpointFiles => typeof (s as CheckpointFiles).open === 'function' && typeof (s as CheckpointFiles).text === 'function';
/** The DOM's FileList, where there is one (the types of this package do not assume the DOM). */
const FileListClass = (globalThis as { FileList?: abstract new () => object }).FileList;
const isFileList = (s: object): s is ArrayLike<File> =>
  (Array.isArray(s) || (FileListClass !== undefined && s instanceof FileListClass)) &&
  Array.from(s as ArrayLike<unknown>).every((f) => typeof File !== 'undefined' && f instanceof File);

export function modelFiles(source: ModelSource): CheckpointFiles {
  if (typeof source === 'string') return /^https?:\/\//i.test(source) ? urlFiles(source) : directoryFiles(source);
  if (source instanceof URL) return urlFiles(source);
  if (isFiles(source)) return source;
  if (isFileList(source)) return pickedFiles(source);
  return memoryFiles(source as FileMap);
}
