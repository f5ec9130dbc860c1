import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reference, type GpuContext } from '@qwen3-webgpu/tensor';
import { openTestContext } from '@qwen3-webgpu/tensor/testing';
import { writeSyntheticCheckpoint } from '@qwen3-webgpu/weights/node';
import { generate, loadCausalLM } from '../src/index.ts';

const config = {
  model_type: 'qwen3',
  vocab_size: 151,
  hidden_size: 64,
  intermediate_size: 96,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  head_dim: 16,
  rms_norm_eps: 1e-6,
  rope_theta: 10000,
  max_position_embeddings: 256,
  tie_word_embeddings: true,
  bos_token_id: 1,
  eos_token_id: 2,
  hidden_act: 'silu',
};

let ctx: GpuContext;
let dir: string;
beforeAll(async () => {
  ctx = await openTestContext();
  dir = mkdtempSync(join(tmpdir(), 'qwen3-lm-'));
  await writeSyntheticCheckpoint(dir, { config, seed: 77, generationConfig: { eos_token_id: [2, 150], do_sample: false } });
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  ctx?.destroy();
});

describe('loadCausalLM', () => {
  it('gives both backends one API; stop ids come from config.json and generation_config.json', async () => {
    const gpu = await loadCausalLM(dir, { ctx, maxContext: 64 });
    const cpu = await loadCausalLM(dir, { backend: 'cpu', maxContext: 64 });
    try {
      expect([gpu.backend, cpu.backend]).toEqual(['webgpu', 'cpu']);
      // generate() runs ahead through these on the WebGPU backend (the CLI gets it only if they pass through).
      expect([typeof gpu.queueNext, typeof gpu.discard, typeof cpu.queueNext]).toEqual(['function', 'function', 'undefined']);
      expect(gpu.stopIds.sort()).toEqual([150, 2].sort());
      const prompt = [1, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50];
      const a = await gpu.forward(prompt);
      const b = await cpu.forward(prompt);
      expect(reference.relativeL2(a, b)).toBeLessThanOrEqual(1e-4);
      expect(gpu.length).toBe(12);
      // Prefill-then-decode equals recomputing the whole sequence, on the GPU too.
      const next = await gpu.forward([7]);
      gpu.reset();
      const whole = await gpu.forward([...prompt, 7]);
      expect(reference.relativeL2(next, whole.subarray(12 * 151))).toBeLessThanOrEqual(1e-5);
      for (const lm of [gpu, cpu]) {
        const ids: number[] = [];
        for await (const id of generate(lm, prompt, { temperature: 0, maxTokens: 8, stopIds: lm.stopIds })) ids.push(id);
        expect(ids.every((id) => !lm.stopIds.includes(id))).toBe(true);
      }
    } finally {
      gpu.destroy();
      cpu.destroy();
    }
  });
});
