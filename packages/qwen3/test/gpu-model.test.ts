import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DispatchList, reference, type GpuContext } from '@qwen3-webgpu/tensor';
import { openTestContext } from '@qwen3-webgpu/tensor/testing';
import { loadQwen3Weights } from '@qwen3-webgpu/weights';
import { CpuQwen3Model, Qwen3ForCausalLM, generate, loadCpuWeights } from '../src/index.ts';
import { argmax, goldenNames as specs, readGolden, withGoldenCheckpoint } from './goldens.ts';

// The WebGPU backend against the CPU backend (float64) and HF's greedy continuation, on the golden checkpoints.

let ctx: GpuContext;
// The other kernel layout on the same adapter (lavapipe's own is 'cpu'): a GPU's decode steps take the grouped
// attention kernel with QK-norm + RoPE fused into it, which only the 'gpu' layout runs.
let other: GpuContext;
beforeAll(async () => {
  ctx = await openTestContext();
  other = await openTestContext({ kernelLayout: ctx.kernelLayout === 'cpu' ? 'gpu' : 'cpu' });
});
afterAll(() => {
  ctx?.destroy();
  other?.destroy();
});

/** Both backends over a golden checkpoint (the WebGPU one on `on`, default the adapter's own layout). */
function backends(name: string, options: ConstructorParameters<typeof Qwen3ForCausalLM>[2], on = () => ctx) {
  return withGoldenCheckpoint(name, async (checkpoint) => {
    const cpu = new CpuQwen3Model(await loadCpuWeights(checkpoint), { maxContext: options?.maxContext ?? 64 });
    const weights = await loadQwen3Weights(on(), checkpoint);
    return { config: checkpoint.config, cpu, weights, gpu: new Qwen3ForCausalLM(on(), weights, options) };
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
  // Every golden on the adapter's own layout; the head_dim-128 stress golden on the other one too.
  const cases = [...specs.map((name) => ({ name, layout: 'own' as const })), { name: 'hd128-stress-bf16.json', layout: 'other' as const }];
  for (const { name, layout } of cases) {
    it(`${name}${layout === 'other' ? ' (the other kernel layout)' : ''}: prefill logits at every position, 10 decode steps, HF's greedy ids`, async () => {
      const golden = readGolden(name);
      const { config, cpu, weights, gpu } = await backends(name, { maxContext: 64, maxRows: 32 }, () => (layout === 'own' ? ctx : other));
      try {
        if (layout === 'other' && other.kernelLayout === 'gpu') {
          // The case exists for the fused decode attention: make sure the steps below take it.
          const qNorm = weights.layers[0]!['self_attn.q_norm'].tensor;
          expect(gpu.model.layers[0]!.attention.attention.fusesQkNormRope(1, qNorm.dtype), 'decode fuses QK-norm + RoPE').toBe(true);
        }
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

describe('residual adds of prompts on the gpu layout', () => {
  it("o_proj's and down's k-split sums are added by the RMSNorm after them, except where x must be whole", async () => {
    const on = () => (ctx.kernelLayout === 'gpu' ? ctx : other);
    const name = 'hd128-stress-bf16.json';
    const keeps = await backends(name, { maxContext: 64, maxRows: 32, hiddenStates: true }, on);
    const fused = await backends(name, { maxContext: 64, maxRows: 32 }, on);
    try {
      // The residual projections' own sum passes in a 16-row prompt's dispatches, by projection.
      const sumPasses = (lm: Qwen3ForCausalLM, normRows: 'all' | 'last' | 'none') => {
        const list = new DispatchList(on(), 'prompt');
        lm.model.encode(list, 16, 0, normRows);
        const tags = list.describe().map((d) => d.tag);
        list.destroy();
        const count = (tag: string) => tags.filter((t) => t === tag).length;
        return { oProj: count('o_proj split-k sum'), down: count('down split-k sum') };
      };
      const layers = fused.config.numHiddenLayers;
      const whole = sumPasses(keeps.gpu, 'all');
      expect(whole.oProj + whole.down, 'hidden states kept: x whole after every layer, each split GEMM sums itself').toBeGreaterThanOrEqual(layers);
      expect([0, layers]).toContain(whole.oProj);
      expect([0, layers]).toContain(whole.down);
      expect(sumPasses(fused.gpu, 'all'), 'every sum to the next RMSNorm (the final norm takes the last down)').toEqual({ oProj: 0, down: 0 });
      // The last layer's down sums itself (the final norm runs on one row, or none follows).
      const lastDown = { oProj: 0, down: whole.down > 0 ? 1 : 0 };
      expect(sumPasses(fused.gpu, 'last')).toEqual(lastDown);
      expect(sumPasses(fused.gpu, 'none')).toEqual(lastDown);
    } finally {
      for (const b of [keeps, fused]) {
        b.gpu.destroy();
        b.weights.destroy();
      }
    }
  });
});

describe('recorded decode steps on the gpu layout', () => {
  it("direct below directDecodeKeys, split with a combine past it: the CPU backend's greedy ids across the switch", async () => {
    const gpuCtx = ctx.kernelLayout === 'gpu' ? ctx : other;
    const { config, cpu, weights, gpu } = await backends('hd128-stress-bf16.json', { maxContext: 320 }, () => gpuCtx);
    try {
      const switchAt = gpu.model.directDecodeKeys;
      expect(switchAt, 'this adapter records direct decode steps on the gpu layout').toBeGreaterThan(0);
      // A prompt ending 6 positions before the switch, then 12 greedy tokens: steps on both recordings.
      const prompt = Array.from({ length: switchAt - 6 }, (_, i) => (i * 7919 + 13) % config.vocabSize);
      const got: number[] = [];
      for await (const id of generate(gpu, prompt, { maxTokens: 12, temperature: 0 })) got.push(id);
      const want: number[] = [];
      let logits = cpu.forward(prompt).logits.subarray((prompt.length - 1) * config.vocabSize);
      for (let i = 0; i < 12; i++) {
        want.push(argmax(logits));
        logits = cpu.forward([want[i]!]).logits;
      }
      expect(got).toEqual(want);
    } finally {
      gpu.destroy();
      weights.destroy();
    }
  });
});

describe('recorded prompt chunks', () => {
  const on = () => (ctx.kernelLayout === 'gpu' ? ctx : other);
  const name = 'hd128-stress-bf16.json';
  /** A model that records prompt chunks and one that encodes every chunk, driven alike; outputs must be equal. */
  async function pair(options: { maxContext: number; maxRows?: number; promptRecordings?: number }) {
    const recorded = await backends(name, options, on);
    const fresh = await backends(name, { ...options, promptRecordings: 0 }, on);
    const vocab = recorded.config.vocabSize;
    return {
      recorded: recorded.gpu,
      fresh: fresh.gpu,
      ids: (start: number, n: number) => Array.from({ length: n }, (_, i) => ((start + i) * 7919 + 13) % vocab),
      /** forward() on both; the logits must be identical (or within `rel` where the two run different key splits). */
      async forward(ids: number[], what: string, rel = 0) {
        const [got, want] = [await recorded.gpu.forward(ids), await fresh.gpu.forward(ids)];
        if (rel === 0) expect(got.logits, what).toEqual(want.logits);
        else expect(reference.relativeL2(got.logits, want.logits), what).toBeLessThanOrEqual(rel);
        expect(recorded.gpu.length).toBe(fresh.gpu.length);
      },
      reset() {
        recorded.gpu.reset();
        fresh.gpu.reset();
      },
      destroy() {
        for (const b of [recorded, fresh]) {
          b.gpu.destroy();
          b.weights.destroy();
        }
      },
    };
  }

  it('a row count seen before replays its recording at later positions: logits equal to chunks encoded afresh', async () => {
    const p = await pair({ maxContext: 192, maxRows: 16 });
    try {
      // From the start twice (seen, then recorded with flash attention's key splits), then every 16 positions to 144:
      // 'later' chunks are seen at 16, recorded at 32 (one split of the whole cache) and replayed from 48 on.
      for (const start of [0, -1, 0, 16, 32, 48, 64, 80, 96, 112, 128, 144]) {
        if (start < 0) p.reset();
        else await p.forward(p.ids(start, 16), `logits of the chunk at ${start}`);
      }
      expect(p.recorded.promptReplays, 'chunks replayed: at 48 … 144').toBe(7);
      expect(p.recorded.promptsRecorded, "recorded: from the start at 0, 'later' at 32").toBe(2);
      // From the start again: the first recording replays.
      p.reset();
      await p.forward(p.ids(0, 16), 'logits of the chunk at 0, replayed');
      expect(p.recorded.promptReplays).toBe(8);
    } finally {
      p.destroy();
    }
  });

  it('key splits that fall short drop the recording; activations that grow drop them all; past the limit the least recently used goes', async () => {
    const p = await pair({ maxContext: 320, maxRows: 128, promptRecordings: 2 });
    const replays = () => p.recorded.promptReplays;
    try {
      // 100 rows from position 0, twice: recorded with key splits of 128 (one split for its 100 keys).
      for (const _ of [0, 1]) {
        p.reset();
        await p.forward(p.ids(0, 100), '100 rows at 0');
      }
      // 40 rows first (a shape of its own), then 100 rows at 40: still 'from the start' (40 < 100), but 140 keys need
      // two splits of 128: the recording is dropped and the chunk encoded.
      p.reset();
      await p.forward(p.ids(0, 40), '40 rows at 0');
      await p.forward(p.ids(40, 100), '100 rows at 40, the recording dropped');
      expect(replays(), 'no replay yet').toBe(0);
      // The same again: encoded (the shape counts as unseen after the drop), then recorded at 40 (two splits), which
      // also covers position 0.
      for (const _ of [0, 1]) {
        p.reset();
        await p.forward(p.ids(0, 40), '40 rows at 0');
        await p.forward(p.ids(40, 100), '100 rows at 40');
      }
      const afterRecording = replays();
      expect(afterRecording, 'the 40-row chunk replayed (recorded on its second sighting)').toBeGreaterThan(0);
      p.reset();
      // Its two splits of 128 keys (the second empty here) are merged by a pass of their own where the fresh model's
      // one split writes its output directly: equal up to rounding.
      await p.forward(p.ids(0, 100), '100 rows at 0, replayed from the recording made at 40', 1e-5);
      expect(replays()).toBe(afterRecording + 1);
      // A third shape past the limit of 2 drops the least recently used (40 rows): seen twice, recorded, replayed.
      for (const _ of [0, 1, 2]) {
        p.reset();
        await p.forward(p.ids(0, 7), '7 rows at 0');
      }
      expect(replays(), '7 rows: seen, recorded, replayed').toBe(afterRecording + 2);
      const recordings = p.recorded.promptsRecorded;
      p.reset();
      await p.forward(p.ids(0, 40), '40 rows at 0 after its eviction: encoded, as a shape not seen (not recorded)');
      expect(replays()).toBe(afterRecording + 2);
      expect(p.recorded.promptsRecorded).toBe(recordings);
      p.reset();
      await p.forward(p.ids(0, 40), '40 rows at 0 again: recorded');
      expect(p.recorded.promptsRecorded).toBe(recordings + 1);
    } finally {
      p.destroy();
    }
    // Activations sized for 16 rows, then grown by a 40-row chunk: the recordings over the old set go.
    const q = await pair({ maxContext: 96, maxRows: 64 });
    try {
      for (const _ of [0, 1, 2]) {
        q.reset();
        await q.forward(q.ids(0, 10), '10 rows (16-row activations)');
      }
      expect(q.recorded.promptReplays, '10 rows replayed once').toBe(1);
      q.reset();
      await q.forward(q.ids(0, 40), '40 rows: the activations grow to 64 rows, every recording dropped');
      q.reset();
      await q.forward(q.ids(0, 10), '10 rows over the new activations: recorded again, not replayed');
      expect(q.recorded.promptReplays).toBe(1);
      q.reset();
      await q.forward(q.ids(0, 10), '10 rows: replayed over the new activations');
      expect(q.recorded.promptReplays).toBe(2);
    } finally {
      q.destroy();
    }
  });

  it('the pick of the next id, greedy and sampled (settings and draw patched on replay): the ids of a model without recordings', async () => {
    const p = await pair({ maxContext: 64 });
    try {
      const run = async (lm: Qwen3ForCausalLM, i: number, options: Parameters<typeof generate>[2]) => {
        const ids: number[] = [];
        for await (const id of generate(lm, p.ids(100 * i, 12), { maxTokens: 3, ...options })) ids.push(id);
        return ids;
      };
      const settings = [
        { temperature: 0 },
        { temperature: 0 },
        { temperature: 0 },
        { temperature: 1.3, seed: 1 },
        { temperature: 1.3, seed: 1 },
        { temperature: 0.7, seed: 2, topK: 5, repetitionPenalty: 1.5 },
        { temperature: 1.3, seed: 3, topP: 0.9 },
      ];
      for (const [i, options] of settings.entries()) {
        expect(await run(p.recorded, i, options), `prompt ${i} (${JSON.stringify(options)})`).toEqual(await run(p.fresh, i, options));
      }
      // Greedy: seen, recorded, replayed; sampled: seen, recorded, then two replays with other settings and draws.
      expect(p.recorded.promptReplays).toBe(1 + 2);
    } finally {
      p.destroy();
    }
  });
});
