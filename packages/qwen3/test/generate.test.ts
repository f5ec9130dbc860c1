import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GpuContext } from '@qwen3-webgpu/tensor';
import { openTestContext } from '@qwen3-webgpu/tensor/testing';
import { loadQwen3Weights, type Qwen3Weights } from '@qwen3-webgpu/weights';
import { CpuQwen3Model, generate, Qwen3ForCausalLM, loadCpuWeights, type GenerateOptions, type TokenBackend } from '../src/index.ts';
import { readGolden, withGoldenCheckpoint } from './goldens.ts';

const golden = readGolden('gqa5-untied-f32.json');

let ctx: GpuContext;
let weights: Qwen3Weights;
let gpu: Qwen3ForCausalLM;
let cpu: CpuQwen3Model;
beforeAll(async () => {
  ctx = await openTestContext();
  await withGoldenCheckpoint('gqa5-untied-f32.json', async (checkpoint) => {
    cpu = new CpuQwen3Model(await loadCpuWeights(checkpoint), { maxContext: 64 });
    weights = await loadQwen3Weights(ctx, checkpoint);
  });
  gpu = new Qwen3ForCausalLM(ctx, weights, { maxContext: 64, maxRows: 8 });
});
afterAll(() => {
  gpu?.destroy();
  weights?.destroy();
  ctx?.destroy();
});

async function run(backend: TokenBackend, options: GenerateOptions, prompt = golden.prompt_ids) {
  const ids: number[] = [];
  const it = generate(backend, prompt, options);
  for (;;) {
    const r = await it.next();
    if (r.done) return { ids, stats: r.value };
    ids.push(r.value);
  }
}

describe('generate()', () => {
  it("greedy on both backends reproduces HF's greedy continuation (prompt longer than maxRows: chunked prefill)", async () => {
    for (const backend of [gpu, cpu]) {
      const { ids, stats } = await run(backend, { temperature: 0, maxTokens: 10 });
      expect(ids).toEqual(golden.greedy_ids);
      expect(stats).toMatchObject({ promptTokens: 20, generatedTokens: 10, finishReason: 'length' });
      expect(stats.prefillMs).toBeGreaterThan(0);
    }
  });

  it('stops at a stop id without emitting it', async () => {
    const stopAt = golden.greedy_ids[3]!;
    const { ids, stats } = await run(gpu, { temperature: 0, maxTokens: 10, stopIds: [stopAt] });
    expect(ids).toEqual(golden.greedy_ids.slice(0, golden.greedy_ids.indexOf(stopAt)));
    expect(stats.finishReason).toBe('stop');
  });

  it('the same seed reproduces a sampled sequence on each backend; another seed changes it', async () => {
    const options = { temperature: 1.2, topK: 50, topP: 0.95, maxTokens: 12 };
    for (const backend of [gpu, cpu]) {
      const a = await run(backend, { ...options, seed: 42 });
      const b = await run(backend, { ...options, seed: 42 });
      const c = await run(backend, { ...options, seed: 43 });
      expect(a.ids).toEqual(b.ids);
      expect(c.ids).not.toEqual(a.ids);
    }
  });

  it('run-ahead (steps in flight, the id kept on the GPU) gives exactly what step-by-step gives, stops included', async () => {
    const sampled = { temperature: 1.1, topK: 40, topP: 0.9, repetitionPenalty: 1.3, presencePenalty: 0.4, maxTokens: 14 };
    for (const options of [
      { temperature: 0, maxTokens: 10 },
      { ...sampled, seed: 7 },
      { ...sampled, seed: 8 },
    ] as GenerateOptions[]) {
      const stepwise = await run(gpu, { ...options, runAhead: 1 });
      for (const runAhead of [2, 3, 5]) expect((await run(gpu, { ...options, runAhead })).ids, `runAhead ${runAhead}`).toEqual(stepwise.ids);
      // A stop mid-stream discards the steps computed past it: the continuation after it must not notice them.
      const stopAt = stepwise.ids[4]!;
      const stopped = { ...options, stopIds: [stopAt] };
      const follow = { ...options, continueContext: true, seed: 99 };
      const a = await run(gpu, { ...stopped, runAhead: 1 });
      const a2 = await run(gpu, follow, [3, 5]);
      const lengthA = gpu.length;
      const b = await run(gpu, { ...stopped, runAhead: 4 });
      const b2 = await run(gpu, follow, [3, 5]);
      expect(b.ids).toEqual(a.ids);
      expect(b.stats.finishReason).toBe('stop');
      expect(b2.ids).toEqual(a2.ids);
      expect(gpu.length).toBe(lengthA);
    }
  });

  it('refuses a prompt plus generation longer than the KV cache, and bad ids', async () => {
    await expect(run(gpu, { maxTokens: 50 })).rejects.toThrow(/prompt \(20 tokens\) \+ 50 new tokens need 69 positions, over the max context 64/);
    await expect(run(gpu, { maxTokens: 2 }, [1, 101])).rejects.toThrow(/prompt id 101 is outside the vocabulary \[0, 101\)/);
    await expect(run(gpu, { maxTokens: 2, topP: 0 })).rejects.toThrow(/top-p must be in \(0, 1\]/);
  });
});
