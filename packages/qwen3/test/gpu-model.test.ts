import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reference, type GpuContext } from '@qwen3-webgpu/tensor';
import { openTestContext } from '@qwen3-webgpu/tensor/testing';
import { loadQwen3Weights } from '@qwen3-webgpu/weights';
import { CpuQwen3Model, Qwen3ForCausalLM, loadCpuWeights } from '../src/index.ts';
import { argmax, goldenNames as specs, readGolden, withGoldenCheckpoint } from './goldens.ts';

// The WebGPU backend against the CPU backend (float64) and HF's greedy continuation, on the golden checkpoints.

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await openTestContext();
});
afterAll(() => ctx?.destroy());

/** Both backends over a golden checkpoint. */
function backends(name: string, options: ConstructorParameters<typeof Qwen3ForCausalLM>[2]) {
  return withGoldenCheckpoint(name, async (checkpoint) => {
    const cpu = new CpuQwen3Model(await loadCpuWeights(checkpoint), { maxContext: 64 });
    const weights = await loadQwen3Weights(ctx, checkpoint);
    return { config: checkpoint.config, cpu, weights, gpu: new Qwen3ForCausalLM(ctx, weights, options) };
  });
}

describe('hidden states', () => {
  it('per-layer residual streams on request match the CPU backend', async () => {
    const golden = readGolden('tiny-tied-bf16.json');
    const { config, cpu, weights, gpu } = await backends('tiny-tied-bf16.json', { maxContext: 64, maxRows: 16, hiddenStates: true });
    try {
      const want = cpu.forward(golden.prompt_ids, { hiddenStates: true }).hiddenStates!;
      const got = (await gpu.forward(golden.prompt_ids)).hiddenStates!;
      expect(got).toHaveLength(config.numHiddenLayers + 1);
      got.forEach((g, i) => expect(reference.relativeL2(g, want[i]!), `hidden state ${i}`).toBeLessThanOrEqual(1e-5));
    } finally {
      gpu.destroy();
      weights.destroy();
    }
  });
});

describe('activations of host-fed passes', () => {
  it('grow to the longest chunk (a power of two of ≥ 16 rows, ≤ maxRows) across calls; logits and hidden states stay right', async () => {
    const { config, cpu, weights, gpu } = await backends('tiny-tied-bf16.json', { maxContext: 64, maxRows: 32, hiddenStates: true });
    try {
      const ids = Array.from({ length: 55 }, (_, i) => (i * 37 + 11) % config.vocabSize);
      const decodeRows = gpu.model.decodeActivations.x.shape[0];
      // 5 ids (16 rows), 20 (grown to 32), 30 (no growth: one chunk of 30).
      for (const [from, to, rows] of [
        [0, 5, 16],
        [5, 25, 32],
        [25, 55, 32],
      ] as const) {
        const got = await gpu.forward(ids.slice(from, to));
        const want = cpu.forward(ids.slice(from, to), { hiddenStates: true });
        expect(gpu.model.activations(1).x.shape[0], `rows after ids ${from} … ${to - 1}`).toBe(rows);
        expect(reference.relativeL2(got.logits, want.logits), `logits of ids ${from} … ${to - 1}`).toBeLessThanOrEqual(1e-5);
        got.hiddenStates!.forEach((g, l) => expect(reference.relativeL2(g, want.hiddenStates![l]!), `hidden state ${l}`).toBeLessThanOrEqual(1e-5));
      }
      expect(gpu.model.decodeActivations.x.shape[0]).toBe(decodeRows);
      expect(decodeRows).toBe(1);
      expect(() => gpu.model.activations(33)).toThrow(/1 … maxRows \(32\) rows, got 33/);
    } finally {
      gpu.destroy();
      weights.destroy();
    }
  });
});

describe('WebGPU backend vs CPU backend', () => {
  for (const name of specs) {
    it(`${name}: prefill logits at every position, 10 decode steps, HF's greedy ids`, async () => {
      const golden = readGolden(name);
      const { config, cpu, weights, gpu } = await backends(name, { maxContext: 64, maxRows: 32 });
      try {
        const vocab = config.vocabSize;
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
