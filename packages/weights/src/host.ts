// Reading checkpoint tensors into host memory as f32 (the CPU backend and tests; the GPU path streams instead).
import { bf16ToF32, f16ToF32 } from '@qwen3-webgpu/tensor';
import type { Checkpoint } from './checkpoint.ts';
import { WeightsError } from './errors.ts';
import { countNonFinite, nonFiniteWarning } from './non-finite.ts';
import { inTensor } from './sources/files.ts';

/**
 * One tensor of an opened checkpoint, widened to f32 (shape as stored). onWarning gets one line when it holds NaN or
 * ±Inf; a file that changed since the checkpoint was opened is an error.
 */
export async function readTensorF32(checkpoint: Checkpoint, name: string, onWarning?: (line: string) => void): Promise<Float32Array> {
  const entry = checkpoint.tensors.get(name);
  if (!entry) throw new WeightsError(checkpoint.dir, 'no such tensor in the checkpoint', name);
  const bytes = new Uint8Array(entry.end - entry.begin);
  // Sources that can tell (a directory, a URL) refuse a file that changed since the checkpoint was opened.
  await inTensor(name, entry.source.read(bytes, entry.begin));
  const nonFinite = countNonFinite(bytes, entry.dtype);
  if (nonFinite > 0) onWarning?.(nonFiniteWarning(entry.file, name, nonFinite));
  if (entry.dtype === 'F32') return new Float32Array(bytes.buffer);
  const halves = new Uint16Array(bytes.buffer);
  return entry.dtype === 'BF16' ? bf16ToF32(halves) : f16ToF32(halves);
}
