// The browser's '#directory': there is no file system to read a path from.
import { WeightsError } from '../errors.ts';
import type { ByteSource, CheckpointFiles } from './files.ts';

const refuse = (path: string): never => {
  throw new WeightsError(path, 'a directory path can only be read in Node; in a browser pass a URL, picked Files or ArrayBuffers');
};

export function directoryFiles(dir: string): CheckpointFiles {
  return refuse(dir);
}

export async function openFile(file: string): Promise<ByteSource | undefined> {
  return refuse(file);
}
