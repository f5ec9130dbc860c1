// The WebGPU backend: Qwen3's forward pass as one compute pass per call (embedding, then per layer RMSNormF32 →
// QKVRoPE into the KV cache → attention → o_proj + residual → RMSNormF32 → SwiGLU → down + residual, final norm,
// lm_head), over weights loaded with @qwen3-webgpu/weights. Buffers are allocated once, at construction.
import { createQkvRope, type QkvRope } from '@qwen3-webgpu/qkv-rope';
import { createRmsNormF32, type RmsNormF32 } from '@qwen3-webgpu/rmsnorm-f32';
import { createTensor, fillTensor, readFloat, writeTensor, type GpuContext, type Tensor } from '@qwen3-webgpu/tensor';
import type { Qwen3Weights } from '@qwen3-webgpu/weights';
import type { TokenBackend } from '../generate.ts';
import { encodeAttention, encodeEmbedding, encodeLinear, encodeMarkSeen, encodeSample, encodeSwiGlu } from '../kernels/index.ts';
import type { ResolvedSampling } from '../sampling.ts';

export interface GpuModelOptions {
  /** KV cache positions; default min(4096, max_position_embeddings). */
  maxContext?: number;
  /** Rows one forward call may take (longer prompts are fed in chunks); default 64. */
  maxRows?: number;
}

export class GpuQwen3Model implements TokenBackend {
  readonly maxContext: number;
  readonly maxRows: number;
  /** Positions already in the KV cache. */
  length = 0;
  readonly #norm: RmsNormF32;
  readonly #qkv: QkvRope;
  readonly #buffers: Record<'ids' | 'x' | 'a' | 'q' | 'attn' | 'mlp' | 'logits' | 'seen' | 'token', Tensor>;
  readonly #k: Tensor[];
  readonly #v: Tensor[];
  /** The sampled id lands here in the same submit: no allocation per token. */
  readonly #readback: GPUBuffer;

  constructor(
    readonly ctx: GpuContext,
    readonly weights: Qwen3Weights,
    options: GpuModelOptions = {},
  ) {
    const c = weights.config;
    this.maxContext = options.maxContext ?? Math.min(4096, c.maxPositionEmbeddings);
    this.maxRows = options.maxRows ?? 64;
    if (this.maxContext > c.maxPositionEmbeddings) throw new RangeError(`maxContext ${this.maxContext} exceeds the model's ${c.maxPositionEmbeddings} positions`);
    const r = this.maxRows;
    this.#norm = createRmsNormF32(ctx, { n: c.hiddenSize, eps: c.rmsNormEps });
    this.#qkv = createQkvRope(ctx, {
      hidden: c.hiddenSize,
      numHeads: c.numAttentionHeads,
      numKvHeads: c.numKeyValueHeads,
      headDim: c.headDim,
      eps: c.rmsNormEps,
      ropeTheta: c.ropeTheta,
      maxPositions: this.maxContext,
    });
    this.#buffers = {
      ids: createTensor(ctx, [r], 'u32', { label: 'ids' }),
      x: createTensor(ctx, [r, c.hiddenSize], 'f32', { label: 'residual' }),
      a: createTensor(ctx, [r, c.hiddenSize], 'f32', { label: 'normed' }),
      q: createTensor(ctx, [r, c.numAttentionHeads, c.headDim], 'f32', { label: 'q' }),
      attn: createTensor(ctx, [r, c.numAttentionHeads * c.headDim], 'f32', { label: 'attention out' }),
      mlp: createTensor(ctx, [r, c.intermediateSize], 'f32', { label: 'mlp hidden' }),
      logits: createTensor(ctx, [r, c.vocabSize], 'f32', { label: 'logits' }),
      seen: createTensor(ctx, [c.vocabSize], 'u32', { label: 'seen tokens' }),
      token: createTensor(ctx, [1], 'u32', { label: 'next token' }),
    };
    fillTensor(this.#buffers.seen, 0);
    const cache = () => createTensor(ctx, [c.numKeyValueHeads, this.maxContext, c.headDim], 'f32', { label: 'kv cache' });
    this.#k = weights.layers.map(cache);
    this.#v = weights.layers.map(cache);
    this.#readback = ctx.device.createBuffer({ label: 'next token readback', size: 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  }

  get vocabSize(): number {
    return this.weights.config.vocabSize;
  }

  reset(): void {
    this.length = 0;
    fillTensor(this.#buffers.seen, 0);
  }

  /**
   * Feeds ids (chunks of maxRows) and picks the next token on the GPU from the last row's logits; lm_head runs on
   * that row only, and only the 4-byte id comes back.
   */
  async next(ids: readonly number[], sampling: ResolvedSampling, u: number): Promise<number> {
    this.#check(ids);
    for (let start = 0; start < ids.length; start += this.maxRows) {
      const chunk = ids.slice(start, start + this.maxRows);
      const last = start + this.maxRows >= ids.length;
      await this.#step(chunk, last ? { sampling, u } : 'none');
    }
    await this.#readback.mapAsync(GPUMapMode.READ);
    const id = new Uint32Array(this.#readback.getMappedRange())[0]!;
    this.#readback.unmap();
    return id;
  }

  #check(ids: readonly number[]): void {
    const c = this.weights.config;
    if (ids.length === 0) throw new RangeError('forward needs at least one token');
    if (this.length + ids.length > this.maxContext) throw new RangeError(`${this.length + ids.length} positions exceed the KV cache (max context ${this.maxContext})`);
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= c.vocabSize) throw new RangeError(`token id ${id} is outside the vocabulary [0, ${c.vocabSize})`);
    }
  }

  /** Runs `ids` at positions length … length + seq − 1; returns logits [seq, vocab]. */
  async forward(ids: readonly number[]): Promise<Float32Array> {
    const c = this.weights.config;
    this.#check(ids);
    const out = new Float32Array(ids.length * c.vocabSize);
    for (let start = 0; start < ids.length; start += this.maxRows) {
      const chunk = ids.slice(start, start + this.maxRows);
      await this.#step(chunk, 'all');
      out.set((await readFloat(this.#buffers.logits)).subarray(0, chunk.length * c.vocabSize), start * c.vocabSize);
    }
    return out;
  }

  /** One forward pass over ids; lm_head on every row ('all'), on the last row + sampling, or not at all. */
  async #step(ids: readonly number[], head: 'all' | 'none' | { sampling: ResolvedSampling; u: number }): Promise<void> {
    const { ctx, weights: w } = this;
    const c = w.config;
    const b = this.#buffers;
    const seq = ids.length;
    const pos0 = this.length;
    writeTensor(b.ids, Uint32Array.from(ids));
    await ctx.run((pass) => {
      encodeEmbedding(ctx, pass, { ids: b.ids, table: w.embedTokens.parts, out: b.x, seq });
      encodeMarkSeen(ctx, pass, { ids: b.ids, seen: b.seen, seq });
      w.layers.forEach((layer, l) => {
        this.#norm.encode(pass, { x: b.x, w: layer.input_layernorm.tensor, y: b.a, rows: seq });
        this.#qkv.encode(pass, {
          x: b.a,
          wq: layer['self_attn.q_proj'].tensor,
          wk: layer['self_attn.k_proj'].tensor,
          wv: layer['self_attn.v_proj'].tensor,
          qNorm: layer['self_attn.q_norm'].tensor,
          kNorm: layer['self_attn.k_norm'].tensor,
          q: b.q,
          k: this.#k[l]!,
          v: this.#v[l]!,
          kvLayout: 'cache',
          seq,
          position: pos0,
        });
        encodeAttention(ctx, pass, { q: b.q, kCache: this.#k[l]!, vCache: this.#v[l]!, out: b.attn, seq, pos0, numHeads: c.numAttentionHeads });
        encodeLinear(ctx, pass, { x: b.attn, w: layer['self_attn.o_proj'].parts, y: b.x, rows: seq, accumulate: true });
        this.#norm.encode(pass, { x: b.x, w: layer.post_attention_layernorm.tensor, y: b.a, rows: seq });
        encodeSwiGlu(ctx, pass, { x: b.a, wGate: layer['mlp.gate_proj'].tensor, wUp: layer['mlp.up_proj'].tensor, h: b.mlp, rows: seq });
        encodeLinear(ctx, pass, { x: b.mlp, w: layer['mlp.down_proj'].parts, y: b.x, rows: seq, accumulate: true });
      });
      if (head === 'none') return;
      if (head === 'all') {
        this.#norm.encode(pass, { x: b.x, w: w.norm.tensor, y: b.a, rows: seq });
        encodeLinear(ctx, pass, { x: b.a, w: w.lmHead.parts, y: b.logits, rows: seq });
        return;
      }
      // Only the last row's logits matter for the next token.
      this.#norm.encode(pass, { x: b.x.rows(seq - 1, 1), w: w.norm.tensor, y: b.a, rows: 1 });
      encodeLinear(ctx, pass, { x: b.a, w: w.lmHead.parts, y: b.logits, rows: 1 });
      encodeSample(ctx, pass, { logits: b.logits, seen: b.seen, out: b.token, n: c.vocabSize, rowOffset: 0, sampling: head.sampling, u: head.u });
    }, 'qwen3 forward', typeof head === 'object' ? (encoder) => encoder.copyBufferToBuffer(b.token.buffer, 0, this.#readback, 0, 4) : undefined);
    this.length = pos0 + seq;
  }

  destroy(): void {
    for (const t of [...Object.values(this.#buffers), ...this.#k, ...this.#v]) t.destroy();
    this.#readback.destroy();
  }
}
