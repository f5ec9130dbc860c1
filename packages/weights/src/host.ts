// Reading checkpoint tensors into host memory as f32 (the CPU backend and tests; the GPU path streams instead).
import { bf16ToF32, f16ToF32 } from '@qwen3-webgpu/tensor';
import type { Checkpoint } from './checkpoint.ts';
import { WeightsError } from './errors.ts';

/** One tensor of an opened checkpoint, widened to f32 (shape as stored). */
export async function readTensorF32(checkpoint: Checkpoint, name: string): Promise<Float32Array> {
  const entry = checkpoint.tensors.get(name);
  if (!entry) throw new WeightsError(checkpoint.dir, 'no such tensor in the checkpoint', name);
  const bytes = new Uint8Array(entry.end - entry.begin);
  await entry.source.read(bytes, entry.begin);
  if (entry.dtype === 'F32') return new Float32Array(bytes.buffer);
  const halves = new Uint16Array(bytes.buffer);
  return entry.dtype === 'BF16' ? bf16ToF32(halves) : f16ToF32(halves);
}
