import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const tempDir = (prefix: string) => mkdtempSync(join(tmpdir(), `qwen3-weights-${prefix}-`));

/** A hand-made safetensors file: any header text (or object), any declared length, any data bytes. */
export function rawSafetensors(file: string, header: unknown, data: Uint8Array = new Uint8Array(0), declaredLength?: bigint): string {
  const text = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + text.byteLength + data.byteLength);
  new DataView(out.buffer).setBigUint64(0, declaredLength ?? BigInt(text.byteLength), true);
  out.set(text, 8);
  out.set(data, 8 + text.byteLength);
  writeFileSync(file, out);
  return file;
}

/** A tiny Qwen3 config (HF json) for checkpoint tests. */
export const tinyConfig = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  model_type: 'qwen3',
  vocab_size: 97,
  hidden_size: 32,
  intermediate_size: 48,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  head_dim: 16,
  rms_norm_eps: 1e-6,
  rope_theta: 10000,
  max_position_embeddings: 256,
  tie_word_embeddings: true,
  torch_dtype: 'bfloat16',
  bos_token_id: 1,
  eos_token_id: 2,
  ...overrides,
});
