import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reference, type GpuContext } from '@qwen3-webgpu/tensor';
import { openTestContext } from '@qwen3-webgpu/tensor/testing';
import { loadQwen3Weights, openCheckpoint, writeSyntheticCheckpoint } from '@qwen3-webgpu/weights';
import { CpuQwen3Model, Qwen3ForCausalLM, loadCpuWeights } from '../src/index.ts';

// The WebGPU backend against the CPU backend (float64) and HF's greedy continuation, on the golden checkpoints.
const dir = new URL('./goldens/', import.meta.url);
const specs = readdirSync(dir).filter((f) => f.endsWith('.json') && !f.endsWith('.golden.json'));

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await openTestContext();
});
afterAll(() => ctx?.destroy());

const argmax = (row: ArrayLike<number>) => {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
};

describe('hidden states', () => {
  it('per-layer residual streams on request match the CPU backend', async () => {
    const name = 'tiny-tied-bf16.json';
    const spec = JSON.parse(readFileSync(new URL(name, dir), 'utf8'));
    const golden = JSON.parse(readFileSync(new URL(name.replace('.json', '.golden.json'), dir), 'utf8')) as { prompt_ids: number[] };
    const out = mkdtempSync(join(tmpdir(), 'qwen3-hidden-'));
    await writeSyntheticCheckpoint(out, { config: spec.config, seed: spec.seed, dtype: spec.dtype });
    const checkpoint = await openCheckpoint(out);
    const cpu = new CpuQwen3Model(await loadCpuWeights(checkpoint), { maxContext: 64 });
    const weights = await loadQwen3Weights(ctx, checkpoint);
    const gpu = new Qwen3ForCausalLM(ctx, weights, { maxContext: 64, maxRows: 16, hiddenStates: true });
    rmSync(out, { recursive: true });
    try {
      const want = cpu.forward(golden.prompt_ids, { hiddenStates: true }).hiddenStates!;
      const got = (await gpu.forward(golden.prompt_ids)).hiddenStates!;
      expect(got).toHaveLength(checkpoint.config.numHiddenLayers + 1);
      got.forEach((g, i) => expect(reference.relativeL2(g, want[i]!), `hidden state ${i}`).toBeLessThanOrEqual(1e-5));
    } finally {
      gpu.destroy();
      weights.destroy();
    }
  });
});

describe('WebGPU backend vs CPU backend', () => {
  for (const name of specs) {
    it(`${name}: prefill logits at every position, 10 decode steps, HF's greedy ids`, async () => {
      const spec = JSON.parse(readFileSync(new URL(name, dir), 'utf8'));
      const golden = JSON.parse(readFileSync(new URL(name.replace('.json', '.golden.json'), dir), 'utf8')) as { prompt_ids: number[]; greedy_ids: number[] };
      const out = mkdtempSync(join(tmpdir(), 'qwen3-gpu-'));
      await writeSyntheticCheckpoint(out, { config: spec.config, seed: spec.seed, dtype: spec.dtype, ...(spec.stress ? { stress: spec.stress } : {}) });
      const checkpoint = await openCheckpoint(out);
      const cpu = new CpuQwen3Model(await loadCpuWeights(checkpoint), { maxContext: 64 });
      const weights = await loadQwen3Weights(ctx, checkpoint);
      const gpu = new Qwen3ForCausalLM(ctx, weights, { maxContext: 64, maxRows: 32 });
      rmSync(out, { recursive: true });
      try {
        const vocab = checkpoint.config.vocabSize;
        const want = cpu.forward(golden.prompt_ids).logits;
        const got = (await gpu.forward(golden.prompt_ids)).logits;
        for (let t = 0; t < golden.prompt_ids.length; t++) {
          const rel = reference.relativeL2(got.subarray(t * vocab, (t + 1) * vocab), want.subarray(t * vocab, (t + 1) * vocab));
          expect(rel, `${name} prefill position ${t}`).toBeLessThanOrEqual(1e-4);
        }
        let gpuLast = got.subarray((golden.prompt_ids.length - 1) * vocab);
        let cpuLast = want.subarray((golden.prompt_ids.length - 1) * vocab);
        const generated: number[] = [];
        for (let i = 0; i < golden.greedy_ids.length; i++) {
          const next = argmax(gpuLast);
          expect(next, `${name} step ${i}: GPU and CPU argmax`).toBe(argmax(cpuLast));
          generated.push(next);
          gpuLast = (await gpu.forward([next])).logits;
          cpuLast = cpu.forward([next]).logits;
          expect(reference.relativeL2(gpuLast, cpuLast), `${name} decode step ${i}`).toBeLessThanOrEqual(1e-4);
        }
        expect(generated).toEqual(golden.greedy_ids);
      } finally {
        gpu.destroy();
        weights.destroy();
      }
    });
  }
});
