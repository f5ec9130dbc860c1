// The WebGPU backend: Qwen3Model (embedding, decoder layers, final norm) and Qwen3ForCausalLM (lm_head, sampling),
// over weights loaded with @qwen3-webgpu/weights. A forward call or a decode step is one compute pass and one
// submit; every buffer is allocated at construction.
import { createQkvRope } from '@qwen3-webgpu/qkv-rope';
import { createRmsNormF32, type RmsNormF32 } from '@qwen3-webgpu/rmsnorm-f32';
import { createTensor, encodeCopyWords, fillTensor, readFloat, writeTensor, type GpuContext, type Tensor } from '@qwen3-webgpu/tensor';
import type { Qwen3Config, Qwen3Weights } from '@qwen3-webgpu/weights';
import type { TokenBackend } from '../generate.ts';
import { defaultMaxContext } from '../max-context.ts';
import { attentionScratchSize, encodeEmbedding, encodeLinear, encodeMarkSeen, encodeSample } from '../kernels/index.ts';
import { checkSampledId } from '../non-finite.ts';
import type { ResolvedSampling } from '../sampling.ts';
import { Qwen3AttentionSeparated, Qwen3DecoderLayerSeparated, Qwen3MLP, type Activations } from './layers.ts';

export interface GpuModelOptions {
  /** KV cache positions; default min(4096, max_position_embeddings). */
  maxContext?: number;
  /** Rows one pass takes (longer inputs are fed in chunks); default 64. */
  maxRows?: number;
  /** Keep the residual stream after the embedding and after every layer (for parity checks); default false. */
  hiddenStates?: boolean;
}

export interface ForwardResult {
  /** [seq, vocab]. */
  logits: Float32Array;
  /** With hiddenStates: after the embedding and after each layer, each [seq, hidden]. */
  hiddenStates?: Float32Array[];
}

/** Embedding → decoder layers → final RMSNorm, with the activations and KV caches it owns. */
export class Qwen3Model {
  readonly config: Qwen3Config;
  readonly maxContext: number;
  readonly maxRows: number;
  readonly layers: Qwen3DecoderLayerSeparated[];
  readonly norm: RmsNormF32;
  readonly ids: Tensor;
  readonly act: Activations;
  readonly #caches: Tensor[];
  /** [layers + 1, maxRows, hidden] when hidden states are kept. */
  readonly hidden: Tensor | undefined;

  constructor(
    readonly ctx: GpuContext,
    readonly weights: Qwen3Weights,
    options: GpuModelOptions = {},
  ) {
    const c = (this.config = weights.config);
    this.maxContext = options.maxContext ?? defaultMaxContext(c);
    this.maxRows = options.maxRows ?? 64;
    if (this.maxContext > c.maxPositionEmbeddings) throw new RangeError(`maxContext ${this.maxContext} exceeds the model's ${c.maxPositionEmbeddings} positions`);
    const r = this.maxRows;
    this.norm = createRmsNormF32(ctx, { n: c.hiddenSize, eps: c.rmsNormEps });
    const qkv = createQkvRope(ctx, {
      hidden: c.hiddenSize,
      numHeads: c.numAttentionHeads,
      numKvHeads: c.numKeyValueHeads,
      headDim: c.headDim,
      eps: c.rmsNormEps,
      ropeTheta: c.ropeTheta,
      maxPositions: this.maxContext,
    });
    this.ids = createTensor(ctx, [r], 'u32', { label: 'ids' });
    this.act = {
      x: createTensor(ctx, [r, c.hiddenSize], 'f32', { label: 'residual' }),
      a: createTensor(ctx, [r, c.hiddenSize], 'f32', { label: 'normed' }),
      q: createTensor(ctx, [r, c.numAttentionHeads, c.headDim], 'f32', { label: 'q' }),
      attn: createTensor(ctx, [r, c.numAttentionHeads * c.headDim], 'f32', { label: 'attention out' }),
      mlp: createTensor(ctx, [r, c.intermediateSize], 'f32', { label: 'mlp hidden' }),
    };
    this.#caches = [createTensor(ctx, [attentionScratchSize(1, c.numAttentionHeads, c.headDim, this.maxContext)], 'f32', { label: 'attention partials' })];
    const scratch = this.#caches[0]!;
    this.layers = weights.layers.map((w) => {
      const cache = () => createTensor(ctx, [c.numKeyValueHeads, this.maxContext, c.headDim], 'f32', { label: 'kv cache' });
      const [k, v] = [cache(), cache()];
      this.#caches.push(k, v);
      return new Qwen3DecoderLayerSeparated(new Qwen3AttentionSeparated(ctx, this.norm, qkv, w, k, v, scratch), new Qwen3MLP(ctx, this.norm, w));
    });
    if (options.hiddenStates && (r * c.hiddenSize) % 4 !== 0) throw new RangeError(`hidden states are copied as vec4s: maxRows × hidden_size (${r} × ${c.hiddenSize}) must be a multiple of 4`);
    this.hidden = options.hiddenStates ? createTensor(ctx, [weights.layers.length + 1, r, c.hiddenSize], 'f32', { label: 'hidden states' }) : undefined;
  }

  /** Encodes ids (already in this.ids) at positions pos0 …: leaves the normalized rows [first, seq) in act.a. */
  encode(pass: GPUComputePassEncoder, seq: number, pos0: number, normRows: 'all' | 'last' | 'none'): void {
    const { ctx, act } = this;
    const h = this.config.hiddenSize;
    // Whole vec4s: rounded up past seq·h into rows the readback ignores (maxRows·h is a multiple of 4).
    const keep = (slot: number) => {
      if (this.hidden) encodeCopyWords(ctx, pass, act.x, this.hidden.rows(slot, 1).view([this.maxRows * h]), Math.ceil((seq * h) / 4) * 4);
    };
    encodeEmbedding(ctx, pass, { ids: this.ids, table: this.weights.embedTokens.parts, out: act.x, seq });
    keep(0);
    this.layers.forEach((layer, l) => {
      layer.encode(pass, act, seq, pos0);
      keep(l + 1);
    });
    if (normRows === 'all') this.norm.encode(pass, { x: act.x, w: this.weights.norm.tensor, y: act.a, rows: seq });
    if (normRows === 'last') this.norm.encode(pass, { x: act.x.rows(seq - 1, 1), w: this.weights.norm.tensor, y: act.a, rows: 1 });
  }

  destroy(): void {
    for (const t of [this.ids, ...Object.values(this.act), ...this.#caches, ...(this.hidden ? [this.hidden] : [])]) t.destroy();
  }
}

/** Qwen3Model + lm_head + sampling on the GPU; streams one token id per step. */
export class Qwen3ForCausalLM implements TokenBackend {
  readonly model: Qwen3Model;
  /** Positions already in the KV cache. */
  length = 0;
  readonly #logits: Tensor;
  readonly #seen: Tensor;
  readonly #token: Tensor;
  /** The sampled id lands here in the same submit: no allocation per token. */
  readonly #readback: GPUBuffer;

  constructor(
    readonly ctx: GpuContext,
    readonly weights: Qwen3Weights,
    options: GpuModelOptions = {},
  ) {
    this.model = new Qwen3Model(ctx, weights, options);
    const c = weights.config;
    this.#logits = createTensor(ctx, [this.model.maxRows, c.vocabSize], 'f32', { label: 'logits' });
    this.#seen = createTensor(ctx, [c.vocabSize], 'u32', { label: 'seen tokens' });
    this.#token = createTensor(ctx, [1], 'u32', { label: 'next token' });
    this.#readback = ctx.device.createBuffer({ label: 'next token readback', size: 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    fillTensor(this.#seen, 0);
  }

  get maxContext(): number {
    return this.model.maxContext;
  }

  get maxRows(): number {
    return this.model.maxRows;
  }

  get vocabSize(): number {
    return this.weights.config.vocabSize;
  }

  reset(): void {
    this.length = 0;
    fillTensor(this.#seen, 0);
  }

  /** Runs ids at positions length …; returns logits of every row (and hidden states when the model keeps them). */
  async forward(ids: readonly number[]): Promise<ForwardResult> {
    this.#check(ids);
    const { vocabSize: vocab, hiddenSize: h } = this.weights.config;
    const logits = new Float32Array(ids.length * vocab);
    const hidden = this.model.hidden ? Array.from({ length: this.weights.layers.length + 1 }, () => new Float32Array(ids.length * h)) : undefined;
    for (let start = 0; start < ids.length; start += this.maxRows) {
      const chunk = ids.slice(start, start + this.maxRows);
      await this.#step(chunk, 'all');
      logits.set((await readFloat(this.#logits)).subarray(0, chunk.length * vocab), start * vocab);
      if (hidden && this.model.hidden) {
        const all = await readFloat(this.model.hidden);
        hidden.forEach((dst, slot) => dst.set(all.subarray(slot * this.maxRows * h, (slot * this.maxRows + chunk.length) * h), start * h));
      }
    }
    return hidden ? { logits, hiddenStates: hidden } : { logits };
  }

  /**
   * Feeds ids (in chunks of maxRows) and picks the next token on the GPU from the last row; lm_head runs on that row
   * only, and only the 4-byte id comes back.
   */
  async next(ids: readonly number[], sampling: ResolvedSampling, u: number): Promise<number> {
    this.#check(ids);
    for (let start = 0; start < ids.length; start += this.maxRows) {
      const last = start + this.maxRows >= ids.length;
      await this.#step(ids.slice(start, start + this.maxRows), last ? { sampling, u } : 'none');
    }
    await this.#readback.mapAsync(GPUMapMode.READ);
    const id = new Uint32Array(this.#readback.getMappedRange())[0]!;
    this.#readback.unmap();
    return checkSampledId(id, this.vocabSize, this.length - 1);
  }

  #check(ids: readonly number[]): void {
    const c = this.weights.config;
    if (ids.length === 0) throw new RangeError('forward needs at least one token');
    if (this.length + ids.length > this.maxContext) throw new RangeError(`${this.length + ids.length} positions exceed the KV cache (max context ${this.maxContext})`);
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= c.vocabSize) throw new RangeError(`token id ${id} is outside the vocabulary [0, ${c.vocabSize})`);
    }
  }

  /** One pass over ids: lm_head on every row ('all'), on the last row followed by sampling, or not at all. */
  async #step(ids: readonly number[], head: 'all' | 'none' | { sampling: ResolvedSampling; u: number }): Promise<void> {
    const { ctx, model } = this;
    const c = this.weights.config;
    const seq = ids.length;
    const pos0 = this.length;
    writeTensor(model.ids, Uint32Array.from(ids));
    await ctx.run(
      (pass) => {
        encodeMarkSeen(ctx, pass, { ids: model.ids, seen: this.#seen, seq });
        model.encode(pass, seq, pos0, head === 'all' ? 'all' : head === 'none' ? 'none' : 'last');
        if (head === 'none') return;
        encodeLinear(ctx, pass, { x: model.act.a, w: this.weights.lmHead.parts, y: this.#logits, rows: head === 'all' ? seq : 1 });
        if (head !== 'all') {
          encodeSample(ctx, pass, { logits: this.#logits, seen: this.#seen, out: this.#token, n: c.vocabSize, rowOffset: 0, sampling: head.sampling, u: head.u });
        }
      },
      'qwen3 step',
      typeof head === 'object' ? (encoder) => encoder.copyBufferToBuffer(this.#token.buffer, 0, this.#readback, 0, 4) : undefined,
    );
    this.length = pos0 + seq;
  }

  destroy(): void {
    this.model.destroy();
    for (const t of [this.#logits, this.#seen, this.#token]) t.destroy();
    this.#readback.destroy();
  }
}
