import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCheckpoint, type Checkpoint } from '@qwen3-webgpu/weights';
import { writeSyntheticCheckpoint } from '@qwen3-webgpu/weights/node';

// The golden checkpoints: each spec (seed, dtype, config, stress) in goldens/<name>.json is regenerated bit-identically;
// goldens/<name>.golden.json holds what HF transformers' float32 forward computed over it on the GPU machine
// (tools/reference/hf_logits.py).
const dir = new URL('./goldens/', import.meta.url);

export const goldenNames = readdirSync(dir).filter((f) => f.endsWith('.json') && !f.endsWith('.golden.json'));

export interface Golden {
  prompt_ids: number[];
  logits: number[][];
  greedy_ids: number[];
  transformers: string;
}

export function readGolden(name: string): Golden {
  return JSON.parse(readFileSync(new URL(name.replace('.json', '.golden.json'), dir), 'utf8')) as Golden;
}

/** Writes the spec's checkpoint to a temp dir, opens it, lets `use` read it, then removes the files. */
export async function withGoldenCheckpoint<T>(name: string, use: (checkpoint: Checkpoint) => Promise<T>): Promise<T> {
  const spec = JSON.parse(readFileSync(new URL(name, dir), 'utf8'));
  const out = mkdtempSync(join(tmpdir(), 'qwen3-golden-'));
  try {
    await writeSyntheticCheckpoint(out, { config: spec.config, seed: spec.seed, dtype: spec.dtype, ...(spec.stress ? { stress: spec.stress } : {}) });
    return await use(await openCheckpoint(out));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** Index of the largest value (the first on ties). */
export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}
