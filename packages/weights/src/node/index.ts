// @qwen3-webgpu/weights/node: what only Node can do — read a directory, write safetensors files and synthetic
// checkpoints. The main entry reads directories too (openCheckpoint('/path')); this one adds the writers.
export { directoryFiles, openFile } from './directory.ts';
export { encodeSafetensorsHeader, writeSafetensors } from './safetensors-writer.ts';
export type { TensorToWrite } from './safetensors-writer.ts';
export { writeSyntheticCheckpoint } from './synthetic.ts';
export type { SyntheticOptions } from './synthetic.ts';
