import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reference, type GpuContext } from '@qwen3-webgpu/tensor';
import { openTestContext } from '@qwen3-webgpu/tensor/testing';
import { loadQwen3Weights, openCheckpoint, QWEN3_0_6B_CONFIG } from '@qwen3-webgpu/weights';
import { writeSyntheticCheckpoint } from '@qwen3-webgpu/weights/node';
import { CpuQwen3Model, generate, Qwen3ForCausalLM, loadCpuWeights } from '../src/index.ts';
import { argmax } from './goldens.ts';

let ctx: GpuContext;
/** The adapter's own kernel layout and the other one (lavapipe picks 'cpu'; the GPU layout's decode kernels —
 * grouped attention with QK-norm + RoPE fused, the vec4 GEMVs — run here through a second context). */
const contexts: Partial<Record<'own' | 'other', GpuContext>> = {};
beforeAll(async () => {
  ctx = await openTestContext();
  contexts.own = ctx;
  contexts.other = await openTestContext({ kernelLayout: ctx.kernelLayout === 'cpu' ? 'gpu' : 'cpu' });
});
afterAll(() => {
  contexts.other?.destroy();
  ctx?.destroy();
});

const base = { model_type: 'qwen3', rms_norm_eps: 1e-6, max_position_embeddings: 512, bos_token_id: 1, eos_token_id: 2, hidden_act: 'silu' };
const CONFIGS: [string, Record<string, unknown>, 'BF16' | 'F16' | 'F32'][] = [
  [
    'GQA 5:1, hd 64, untied, bf16',
    {
      ...base,
      vocab_size: 300,
      hidden_size: 160,
      intermediate_size: 224,
      num_hidden_layers: 3,
      num_attention_heads: 5,
      num_key_value_heads: 1,
      head_dim: 64,
      rope_theta: 1e6,
      tie_word_embeddings: false,
    },
    'BF16',
  ],
  [
    'GQA 2:1, hd 32, tied, f16',
    {
      ...base,
      vocab_size: 257,
      hidden_size: 96,
      intermediate_size: 160,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      head_dim: 32,
      rope_theta: 10000,
      tie_word_embeddings: true,
    },
    'F16',
  ],
  [
    'MHA, hd 128, tied, bf16',
    {
      ...base,
      vocab_size: 211,
      hidden_size: 128,
      intermediate_size: 256,
      num_hidden_layers: 2,
      num_attention_heads: 2,
      num_key_value_heads: 2,
      head_dim: 128,
      rope_theta: 1e6,
      tie_word_embeddings: true,
    },
    'BF16',
  ],
  [
    'hidden 66 (not a multiple of 4), GQA 3:1, hd 32, untied, f32',
    {
      ...base,
      vocab_size: 199,
      hidden_size: 66,
      intermediate_size: 90,
      num_hidden_layers: 2,
      num_attention_heads: 3,
      num_key_value_heads: 1,
      head_dim: 32,
      rope_theta: 1e6,
      tie_word_embeddings: false,
    },
    'F32',
  ],
];

describe.each(['own', 'other'] as const)('WebGPU (%s kernel layout) vs CPU backend on random checkpoints', (which) => {
  // The other layout on a software adapter is slow (the GPU layout's barriers): one checkpoint there, GQA 5:1, which
  // takes the grouped decode attention with QK-norm + RoPE fused where the adapter has subgroups.
  for (const [label, config, dtype] of which === 'own' ? CONFIGS : CONFIGS.slice(0, 1)) {
    it(`${label}: 20-token prompt (every position, every layer) and 20 decode steps, relative L2 ≤ 1e-4, same greedy tokens`, async () => {
      const ctx = contexts[which]!;
      const dir = mkdtempSync(join(tmpdir(), 'qwen3-backends-'));
      await writeSyntheticCheckpoint(dir, { config, seed: 123, dtype });
      const checkpoint = await openCheckpoint(dir);
      const cpu = new CpuQwen3Model(await loadCpuWeights(checkpoint), { maxContext: 64 });
      const weights = await loadQwen3Weights(ctx, checkpoint);
      const gpu = new Qwen3ForCausalLM(ctx, weights, { maxContext: 64, hiddenStates: true });
      rmSync(dir, { recursive: true });
      try {
        const vocab = checkpoint.config.vocabSize;
        const prompt = Array.from({ length: 20 }, (_, i) => (i * 37 + 11) % vocab);
        const wantFirst = cpu.forward(prompt, { hiddenStates: true });
        const gotFirst = await gpu.forward(prompt);
        wantFirst.hiddenStates!.forEach((w, l) => expect(reference.relativeL2(gotFirst.hiddenStates![l]!, w), `hidden state ${l}`).toBeLessThanOrEqual(1e-4));
        let want = wantFirst.logits;
        let got = gotFirst.logits;
        for (let t = 0; t < 20; t++) {
          expect(reference.relativeL2(got.subarray(t * vocab, (t + 1) * vocab), want.subarray(t * vocab, (t + 1) * vocab)), `prefill ${t}`).toBeLessThanOrEqual(
            1e-4,
          );
        }
        let last = want.subarray(19 * vocab);
        for (let step = 0; step < 20; step++) {
          const next = argmax(last);
          want = cpu.forward([next]).logits;
          got = (await gpu.forward([next])).logits;
          expect(reference.relativeL2(got, want), `decode ${step}`).toBeLessThanOrEqual(1e-4);
          last = want;
        }
        // Greedy through generate() on a fresh context: both backends pick the same 20 tokens.
        const greedy = async (b: CpuQwen3Model | Qwen3ForCausalLM) => {
          const ids: number[] = [];
          for await (const id of generate(b, prompt, { temperature: 0, maxTokens: 20 })) ids.push(id);
          return ids;
        };
        expect(await greedy(gpu)).toEqual(await greedy(cpu));
      } finally {
        gpu.destroy();
        weights.destroy();
      }
    });
  }
});

describe.each(['own', 'other'] as const)('long contexts (%s kernel layout)', (which) => {
  // The GPU layout on a software adapter is slow (barriers): a shorter prompt there, still past 256 positions.
  const length = which === 'own' ? 530 : 300;
  it(`a ${length}-token prompt in chunks of 200 rows (logits read in blocks of 64), then decode steps past 256 cached positions (keys split across workgroups) match the CPU backend`, async () => {
    const ctx = contexts[which]!;
    const [, config, dtype] = CONFIGS[0]!;
    const dir = mkdtempSync(join(tmpdir(), 'qwen3-long-'));
    await writeSyntheticCheckpoint(dir, { config: { ...config, max_position_embeddings: 1024 }, seed: 321, dtype });
    const checkpoint = await openCheckpoint(dir);
    const cpu = new CpuQwen3Model(await loadCpuWeights(checkpoint), { maxContext: 600 });
    const weights = await loadQwen3Weights(ctx, checkpoint);
    const gpu = new Qwen3ForCausalLM(ctx, weights, { maxContext: 600, maxRows: 200 });
    rmSync(dir, { recursive: true });
    try {
      const vocab = checkpoint.config.vocabSize;
      const prompt = Array.from({ length }, (_, i) => (i * 91 + 7) % vocab);
      const want = cpu.forward(prompt).logits;
      const got = (await gpu.forward(prompt)).logits;
      // Every position, across chunk (200, 400) and logit-block (64, 128, 192, 264, …) boundaries.
      for (let t = 0; t < prompt.length; t++) {
        const row = (l: Float32Array | Float64Array) => l.subarray(t * vocab, (t + 1) * vocab);
        expect(reference.relativeL2(row(got), row(want)), `prefill position ${t}`).toBeLessThanOrEqual(1e-4);
      }
      for (let step = 0; step < 4; step++) {
        const id = (step * 13 + 5) % vocab;
        expect(reference.relativeL2((await gpu.forward([id])).logits, cpu.forward([id]).logits), `position ${length + step}`).toBeLessThanOrEqual(1e-4);
      }
    } finally {
      gpu.destroy();
      weights.destroy();
    }
  });
});

describe('Qwen3-0.6B-shaped synthetic checkpoint on this adapter', () => {
  it('generates 16 tokens (embedding and lm_head split across bindings where the adapter needs it)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'qwen3-0.6b-'));
    try {
      await writeSyntheticCheckpoint(dir, { config: { ...QWEN3_0_6B_CONFIG }, seed: 1 });
      let start = performance.now();
      const weights = await loadQwen3Weights(ctx, dir);
      const loadS = (performance.now() - start) / 1000;
      const gpu = new Qwen3ForCausalLM(ctx, weights, { maxContext: 256 });
      start = performance.now();
      const ids: number[] = [];
      const it = generate(gpu, [151643, 872, 3555, 374, 279, 6722, 315], { temperature: 0, maxTokens: 16 });
      let r = await it.next();
      while (!r.done) {
        ids.push(r.value);
        r = await it.next();
      }
      const s = r.value;
      console.log(
        `Qwen3-0.6B synthetic on ${ctx.info.description}: loaded in ${loadS.toFixed(1)} s (embedding in ${weights.embedTokens.parts.length} binding parts); ` +
          `prefill ${s.promptTokens} tokens ${s.prefillMs.toFixed(0)} ms, ${s.generatedTokens} tokens decoded at ${s.decodeTokensPerSecond.toFixed(2)} tok/s ` +
          `(${((performance.now() - start) / 1000).toFixed(1)} s in all): ${ids.join(' ')}`,
      );
      expect(ids).toHaveLength(16);
      expect(ids.every((id) => Number.isInteger(id) && id >= 0 && id < 151936)).toBe(true);
      gpu.destroy();
      weights.destroy();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
