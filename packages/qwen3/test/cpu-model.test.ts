import { describe, expect, it } from 'vitest';
import { reference } from '@qwen3-webgpu/tensor';
import { CpuQwen3Model, loadCpuWeights } from '../src/index.ts';
import { argmax, goldenNames as specs, readGolden, withGoldenCheckpoint } from './goldens.ts';

async function model(name: string) {
  const weights = await withGoldenCheckpoint(name, loadCpuWeights);
  return { weights, golden: readGolden(name) };
}

describe('CPU backend vs HF transformers float32', () => {
  for (const name of specs) {
    it(`${name}: logits at every prompt position (prefill) within relative L2 1e-4`, async () => {
      const { weights, golden } = await model(name);
      const m = new CpuQwen3Model(weights, { maxContext: 64 });
      const { logits } = m.forward(golden.prompt_ids);
      const vocab = weights.config.vocabSize;
      golden.logits.forEach((want, t) => {
        const got = logits.subarray(t * vocab, (t + 1) * vocab);
        const rel = reference.relativeL2(got, want);
        expect(rel, `${name} position ${t} (HF ${golden.transformers})`).toBeLessThanOrEqual(1e-4);
      });
    });

    it(`${name}: token-by-token decode gives the same logits and HF's greedy continuation`, async () => {
      const { weights, golden } = await model(name);
      const vocab = weights.config.vocabSize;
      const m = new CpuQwen3Model(weights, { maxContext: 64 });
      let last: Float32Array = new Float32Array(0);
      golden.prompt_ids.forEach((id, t) => {
        last = m.forward([id]).logits;
        expect(reference.relativeL2(last, golden.logits[t]!), `${name} decode position ${t}`).toBeLessThanOrEqual(1e-4);
      });
      const generated: number[] = [];
      for (let i = 0; i < golden.greedy_ids.length; i++) {
        const next = argmax(last);
        generated.push(next);
        last = m.forward([next]).logits.subarray(0, vocab);
      }
      expect(generated).toEqual(golden.greedy_ids);
    });
  }

  it('prefill then decode equals recomputing the whole sequence', async () => {
    const { weights, golden } = await model('tiny-tied-bf16.json');
    const vocab = weights.config.vocabSize;
    const a = new CpuQwen3Model(weights, { maxContext: 64 });
    a.forward(golden.prompt_ids.slice(0, 12));
    const tail = a.forward(golden.prompt_ids.slice(12)).logits;
    const b = new CpuQwen3Model(weights, { maxContext: 64 });
    const whole = b.forward(golden.prompt_ids).logits.subarray(12 * vocab);
    expect(reference.relativeL2(tail, whole)).toBeLessThanOrEqual(1e-12);
  });

  it('rejects ids outside the vocabulary and contexts past the cache', async () => {
    const { weights } = await model('tiny-tied-bf16.json');
    const m = new CpuQwen3Model(weights, { maxContext: 4 });
    expect(() => m.forward([weights.config.vocabSize])).toThrow(/token id 97 is outside the vocabulary \[0, 97\)/);
    expect(() => m.forward([1, 2, 3, 4, 5])).toThrow(/5 positions exceed the KV cache \(max context 4\)/);
  });
});
