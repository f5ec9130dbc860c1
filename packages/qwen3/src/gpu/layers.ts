// Qwen3's building blocks on the GPU, named as in the seed. Each encodes into a caller's compute pass over the
// activations of a Qwen3Model (allocated once): x [rows, hidden] the residual stream, a [rows, hidden] normalized,
// q [rows, nh, hd], attn [rows, nh·hd], mlp [rows, intermediate].
import type { QkvRope } from '@qwen3-webgpu/qkv-rope';
import type { RmsNormF32 } from '@qwen3-webgpu/rmsnorm-f32';
import type { GpuContext, Tensor } from '@qwen3-webgpu/tensor';
import type { Qwen3LayerWeights } from '@qwen3-webgpu/weights';
import { encodeAttention, encodeLinear, encodeSwiGlu } from '../kernels/index.ts';

export interface Activations {
  x: Tensor;
  a: Tensor;
  q: Tensor;
  attn: Tensor;
  mlp: Tensor;
}

/** RMSNormF32 → QKVRoPE (K/V into this layer's cache) → causal GQA attention → o_proj added to the residual. */
export class Qwen3AttentionSeparated {
  constructor(
    readonly ctx: GpuContext,
    readonly norm: RmsNormF32,
    readonly qkv: QkvRope,
    readonly w: Qwen3LayerWeights,
    /** [nkv, maxContext, hd] f32 each. */
    readonly kCache: Tensor,
    readonly vCache: Tensor,
    /** Flash-decoding partials for one query row (attentionScratchSize); decode steps split the keys with it. */
    readonly scratch: Tensor,
  ) {}

  encode(pass: GPUComputePassEncoder, t: Activations, seq: number, pos0: number): void {
    const { w } = this;
    this.norm.encode(pass, { x: t.x, w: w.input_layernorm.tensor, y: t.a, rows: seq });
    this.qkv.encode(pass, {
      x: t.a,
      wq: w['self_attn.q_proj'].tensor,
      wk: w['self_attn.k_proj'].tensor,
      wv: w['self_attn.v_proj'].tensor,
      qNorm: w['self_attn.q_norm'].tensor,
      kNorm: w['self_attn.k_norm'].tensor,
      q: t.q,
      k: this.kCache,
      v: this.vCache,
      kvLayout: 'cache',
      seq,
      position: pos0,
    });
    encodeAttention(this.ctx, pass, {
      q: t.q,
      kCache: this.kCache,
      vCache: this.vCache,
      out: t.attn,
      seq,
      pos0,
      numHeads: this.qkv.options.numHeads,
      ...(seq === 1 ? { scratch: this.scratch } : {}),
    });
    encodeLinear(this.ctx, pass, { x: t.attn, w: w['self_attn.o_proj'].parts, y: t.x, rows: seq, accumulate: true });
  }
}

/** RMSNormF32 → silu(gate) ⊙ up → down added to the residual. */
export class Qwen3MLP {
  constructor(
    readonly ctx: GpuContext,
    readonly norm: RmsNormF32,
    readonly w: Qwen3LayerWeights,
  ) {}

  encode(pass: GPUComputePassEncoder, t: Activations, seq: number): void {
    this.norm.encode(pass, { x: t.x, w: this.w.post_attention_layernorm.tensor, y: t.a, rows: seq });
    encodeSwiGlu(this.ctx, pass, { x: t.a, wGate: this.w['mlp.gate_proj'].tensor, wUp: this.w['mlp.up_proj'].tensor, h: t.mlp, rows: seq });
    encodeLinear(this.ctx, pass, { x: t.mlp, w: this.w['mlp.down_proj'].parts, y: t.x, rows: seq, accumulate: true });
  }
}

/** One decoder layer: attention block, then MLP block, each with its residual. */
export class Qwen3DecoderLayerSeparated {
  constructor(
    readonly attention: Qwen3AttentionSeparated,
    readonly mlp: Qwen3MLP,
  ) {}

  encode(pass: GPUComputePassEncoder, t: Activations, seq: number, pos0: number): void {
    this.attention.encode(pass, t, seq, pos0);
    this.mlp.encode(pass, t, seq);
  }
}
