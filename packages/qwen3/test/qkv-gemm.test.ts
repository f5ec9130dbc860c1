import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DispatchList, readBytes, reference, Tensor, uploadTensor, type GpuContext } from '@qwen3-webgpu/tensor';
import { openTestContext } from '@qwen3-webgpu/tensor/testing';
import { loadQwen3Weights, openCheckpoint, type Qwen3Weights, type WeightTensor } from '@qwen3-webgpu/weights';
import { writeSyntheticCheckpoint } from '@qwen3-webgpu/weights/node';
import { CpuQwen3Model, Qwen3ForCausalLM, Qwen3Model, loadCpuWeights } from '../src/index.ts';

// Prefill's q|k|v projection: one GEMM dispatch per layer over the loader's packed q|k|v buffer, three over weights
// in three buffers; the same logits either way, as the float64 CPU backend gives them.

let ctx: GpuContext;
beforeAll(async () => {
  // The GPU kernel layout: prefill projections on matmul's GEMM (the FMA kernel here; lavapipe has no tensor cores).
  ctx = await openTestContext({ kernelLayout: 'gpu' });
});
afterAll(() => ctx?.destroy());

const QKV = ['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj'] as const;

/** The same weights with each layer's q, k and v copied into buffers of their own (as a user might build them). */
async function unpacked(weights: Qwen3Weights): Promise<{ weights: Qwen3Weights; destroy(): void }> {
  const own: Tensor[] = [];
  const layers = await Promise.all(
    weights.layers.map(async (layer) => {
      const copy = { ...layer };
      for (const t of QKV) {
        const w = layer[t].tensor;
        const bytes = await readBytes(w);
        const tensor = uploadTensor(ctx, w.shape, w.dtype, new Uint16Array(bytes.buffer, 0, w.numel));
        own.push(tensor);
        copy[t] = { tensor, parts: [{ rowStart: 0, rowCount: w.shape[0]!, tensor }] } satisfies WeightTensor;
      }
      return copy;
    }),
  );
  return { weights: { ...weights, layers }, destroy: () => own.forEach((t) => t.destroy()) };
}

/** The dispatches a prefill of `seq` rows records, by tag, and the weights layer 0's attention GEMMs read. */
async function prefill(weights: Qwen3Weights, seq: number): Promise<{ tags: string[]; gemmWeights: Tensor[] }> {
  const model = new Qwen3Model(ctx, weights, { maxContext: 64, maxRows: 32 });
  const list = new DispatchList(ctx, 'prefill');
  try {
    await model.prepare();
    model.encode(list, seq, 0, 'none');
    const attention = model.layers[0]!.attention;
    // prepare() (matmul's weight-range check, keyed by these tensors) and encode() are handed the same objects.
    attention.gemmWeights().forEach((t, i) => expect(t).toBe(attention.gemmWeights()[i]));
    return { tags: list.describe().map((d) => d.tag), gemmWeights: attention.gemmWeights() };
  } finally {
    list.destroy();
    model.destroy();
  }
}

describe("prefill's q|k|v GEMM", () => {
  it('is one dispatch per layer over the packed buffer, three over separate ones; logits match the float64 backend either way', async () => {
    const config = {
      model_type: 'qwen3',
      vocab_size: 211,
      hidden_size: 96,
      intermediate_size: 160,
      num_hidden_layers: 3,
      num_attention_heads: 6,
      num_key_value_heads: 2,
      head_dim: 32,
      rms_norm_eps: 1e-6,
      rope_theta: 1e6,
      max_position_embeddings: 128,
      tie_word_embeddings: false,
      bos_token_id: 1,
      eos_token_id: 2,
    };
    const dir = mkdtempSync(join(tmpdir(), 'qwen3-qkv-gemm-'));
    await writeSyntheticCheckpoint(dir, { config, seed: 77, dtype: 'BF16' });
    const checkpoint = await openCheckpoint(dir);
    const cpu = new CpuQwen3Model(await loadCpuWeights(checkpoint), { maxContext: 64 });
    const packed = await loadQwen3Weights(ctx, checkpoint);
    rmSync(dir, { recursive: true });
    const separate = await unpacked(packed);
    try {
      const layers = config.num_hidden_layers;
      const count = (tags: string[]) => tags.filter((t) => t === 'qkv').length;
      const one = await prefill(packed, 19);
      const three = await prefill(separate.weights, 19);
      expect(count(one.tags), 'packed q|k|v: GEMM dispatches').toBe(layers);
      expect(count(three.tags), 'q, k, v in three buffers: GEMM dispatches').toBe(3 * layers);
      // Nothing else changes: the same dispatches but the two extra GEMMs per layer.
      expect(one.tags.length).toBe(three.tags.length - 2 * layers);
      // The packed q|k|v [(6 + 2 + 2) · 32, 96] is one weight (one range check on the tensor-core path), then o_proj.
      const q = packed.layers[0]!['self_attn.q_proj'].tensor;
      expect(one.gemmWeights.map((t) => [t.shape, t.buffer === q.buffer])).toEqual([
        [[320, 96], true],
        [[96, 192], false],
      ]);
      expect(three.gemmWeights.map((t) => t.shape)).toEqual([
        [192, 96],
        [64, 96],
        [64, 96],
        [96, 192],
      ]);

      const vocab = config.vocab_size;
      const prompt = Array.from({ length: 19 }, (_, i) => (i * 53 + 3) % vocab);
      const want = cpu.forward(prompt).logits;
      const logits: Float32Array[] = [];
      for (const weights of [packed, separate.weights]) {
        const gpu = new Qwen3ForCausalLM(ctx, weights, { maxContext: 64, maxRows: 32 });
        try {
          logits.push((await gpu.forward(prompt)).logits);
        } finally {
          gpu.destroy();
        }
      }
      for (const [label, got] of [
        ['packed', logits[0]!],
        ['separate', logits[1]!],
      ] as const) {
        for (let t = 0; t < prompt.length; t++) {
          const row = (l: Float32Array | Float64Array) => l.subarray(t * vocab, (t + 1) * vocab);
          expect(reference.relativeL2(row(got), row(want)), `${label}: prefill position ${t}`).toBeLessThanOrEqual(1e-4);
        }
      }
    } finally {
      separate.destroy();
      packed.destroy();
    }
  });
});
