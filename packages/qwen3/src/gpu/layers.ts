// Qwen3's building blocks on the GPU, named as in the seed. Each is bound to its weights and kernel handles at
// construction and encodes into a pass or a DispatchList over the activations of a Qwen3Model (allocated once):
// x [rows, hidden] the residual stream, a [rows, hidden] normalized, q [rows, nh, hd], attn [rows, nh·hd],
// mlp [rows, intermediate]. encode() returns the setter of the step's first position, so a recorded decode step
// replays at every position.
import type { QkvRope } from '@qwen3-webgpu/qkv-rope';
import type { RmsNormF32 } from '@qwen3-webgpu/rmsnorm-f32';
import type { DispatchTarget, GpuContext, Tensor } from '@qwen3-webgpu/tensor';
import type { Qwen3Config, Qwen3LayerWeights } from '@qwen3-webgpu/weights';
import { createLinear, type Attention, type Linear } from '../kernels/index.ts';

export interface Activations {
  x: Tensor;
  a: Tensor;
  q: Tensor;
  attn: Tensor;
  mlp: Tensor;
}

/** Sets the position of a recorded step's first row. */
export type SetPosition = (pos0: number) => void;

/** RMSNormF32 → QKVRoPE (K/V into this layer's cache) → causal GQA attention → o_proj added to the residual. */
export class Qwen3AttentionSeparated {
  readonly oProj: Linear;

  constructor(
    readonly ctx: GpuContext,
    readonly config: Qwen3Config,
    readonly norm: RmsNormF32,
    readonly qkv: QkvRope,
    readonly attention: Attention,
    readonly w: Qwen3LayerWeights,
    /** [nkv, maxContext, hd] f32 each. */
    readonly kCache: Tensor,
    readonly vCache: Tensor,
    /** Flash-decoding partials for one query row (attentionScratchSize); decode steps split the keys with it. */
    readonly scratch: Tensor,
  ) {
    const o = w['self_attn.o_proj'].tensor;
    this.oProj = createLinear(ctx, { n: config.hiddenSize, k: config.numAttentionHeads * config.headDim, dtype: o.dtype, accumulate: true, tag: 'o_proj' });
  }

  encode(target: DispatchTarget, t: Activations, seq: number, pos0: number): SetPosition {
    const { w } = this;
    this.norm.encode(target, { x: t.x, w: w.input_layernorm.tensor, y: t.a, rows: seq });
    const qkvAt = this.qkv.encode(target, {
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
    const attentionAt = this.attention.encode(target, { q: t.q, kCache: this.kCache, vCache: this.vCache, out: t.attn, seq, pos0, ...(seq === 1 ? { scratch: this.scratch } : {}) });
    this.oProj.encode(target, { x: t.attn, w: w['self_attn.o_proj'].parts, y: t.x, rows: seq });
    return (p) => {
      qkvAt(p);
      attentionAt(p);
    };
  }
}

/** RMSNormF32 → silu(gate) ⊙ up → down added to the residual. */
export class Qwen3MLP {
  readonly gateUp: Linear;
  readonly down: Linear;

  constructor(
    readonly ctx: GpuContext,
    readonly config: Qwen3Config,
    readonly norm: RmsNormF32,
    readonly w: Qwen3LayerWeights,
  ) {
    const { hiddenSize: h, intermediateSize: inter } = config;
    this.gateUp = createLinear(ctx, { n: inter, k: h, dtype: w['mlp.gate_proj'].tensor.dtype, swiglu: true, tag: 'gate_up' });
    this.down = createLinear(ctx, { n: h, k: inter, dtype: w['mlp.down_proj'].tensor.dtype, accumulate: true, tag: 'down' });
  }

  encode(target: DispatchTarget, t: Activations, seq: number): void {
    this.norm.encode(target, { x: t.x, w: this.w.post_attention_layernorm.tensor, y: t.a, rows: seq });
    this.gateUp.encode(target, { x: t.a, w: this.w['mlp.gate_proj'].tensor, w2: this.w['mlp.up_proj'].tensor, y: t.mlp, rows: seq });
    this.down.encode(target, { x: t.mlp, w: this.w['mlp.down_proj'].parts, y: t.x, rows: seq });
  }
}

/** One decoder layer: attention block, then MLP block, each with its residual. */
export class Qwen3DecoderLayerSeparated {
  constructor(
    readonly attention: Qwen3AttentionSeparated,
    readonly mlp: Qwen3MLP,
  ) {}

  encode(target: DispatchTarget, t: Activations, seq: number, pos0: number): SetPosition {
    const at = this.attention.encode(target, t, seq, pos0);
    this.mlp.encode(target, t, seq);
    return at;
  }
}
